import type { BuildModel, DraftModel, Prisma, ReleaseModel } from '@ignite/database';
import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';

/** What a publish may read and write while it holds the app's row lock. */
export interface LockedApp {
  draft(): Promise<DraftModel | null>;
  build(buildId: string): Promise<BuildModel | null>;
  /** The most recent build of a draft revision, if any. */
  latestBuildOf(revision: number): Promise<BuildModel | null>;
  /** The most recent build of any revision, if any. */
  latestBuild(): Promise<BuildModel | null>;
  /** Creates release max(number)+1 of the build's artifact and makes it the active release. */
  createActiveRelease(build: BuildModel & { artifactSha256: string; artifactSize: number }): Promise<ReleaseModel>;
}

const TX = { maxWait: 10_000, timeout: 15_000 };
const LATEST: Prisma.BuildOrderByWithRelationInput[] = [{ createdAt: 'desc' }, { id: 'desc' }];

@Injectable()
export class ReleasesRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Runs `work` in one transaction holding the app's row lock (`SELECT ... FOR UPDATE`), so two
   * publishes of one app are serialized. Resolves with undefined when the app is gone.
   */
  async withLockedApp<T>(appId: string, work: (app: LockedApp) => Promise<T>): Promise<T | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM apps WHERE id = ${appId}::uuid FOR UPDATE`;
      if (locked.length === 0) return undefined;
      return work({
        draft: () => tx.draft.findUnique({ where: { appId } }),
        build: (buildId) => tx.build.findFirst({ where: { id: buildId, appId } }),
        latestBuildOf: (revision) => tx.build.findFirst({ where: { appId, draftRevision: revision }, orderBy: LATEST }),
        latestBuild: () => tx.build.findFirst({ where: { appId }, orderBy: LATEST }),
        createActiveRelease: async (build) => {
          const { _max } = await tx.release.aggregate({ where: { appId }, _max: { number: true } });
          const release = await tx.release.create({
            data: {
              appId,
              number: (_max.number ?? 0) + 1,
              buildId: build.id,
              target: build.target,
              artifactSha256: build.artifactSha256,
              artifactSize: build.artifactSize,
            },
          });
          await tx.app.update({ where: { id: appId }, data: { activeReleaseId: release.id } });
          return release;
        },
      });
    }, TX);
  }

  /** Makes release `number` the active one. Resolves with it, or null when there is no such release. */
  async activate(appId: string, number: number): Promise<ReleaseModel | null> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM apps WHERE id = ${appId}::uuid FOR UPDATE`;
      const release = await tx.release.findUnique({ where: { appId_number: { appId, number } } });
      if (!release) return null;
      await tx.app.update({ where: { id: appId }, data: { activeReleaseId: release.id } });
      return release;
    }, TX);
  }

  async list(appId: string): Promise<ReleaseModel[]> {
    return this.prisma.release.findMany({ where: { appId }, orderBy: { number: 'desc' } });
  }
}
