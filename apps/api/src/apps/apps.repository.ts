import type { InvokeAuth } from '@ignite/contracts';
import type { AppModel, BuildModel, DraftModel, Prisma, ReleaseModel } from '@ignite/database';
import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';

export interface NewApp {
  orgId: string;
  name: string;
  rustTarget: 'native' | 'wasm';
  env: Record<string, string>;
  timeoutMs?: number | undefined;
  memoryMb?: number | undefined;
  auth: InvokeAuth;
  rateLimitPerSecond?: number | undefined;
  concurrencyLimit?: number | undefined;
}

/** Who may invoke an app and its limits (undefined: unchanged; null: the runner's default). */
export interface AppAccessChange {
  auth?: InvokeAuth | undefined;
  rateLimitPerSecond?: number | null | undefined;
  concurrencyLimit?: number | null | undefined;
}

export type AppWithActive = AppModel & { activeRelease: ReleaseModel | null };
/** An app with what its view says of its releases. */
export type AppForView = AppWithActive & { lastReleasedAt: Date | null };
export type AppDetail = AppForView & { draft: DraftModel | null; latestBuild: BuildModel | null };

// Read with the app rather than after it, so that a view never needs a second round trip.
const FOR_VIEW = {
  activeRelease: true,
  releases: { orderBy: { number: 'desc' }, take: 1, select: { createdAt: true } },
} satisfies Prisma.AppInclude;

function forView<T extends AppWithActive & { releases: { createdAt: Date }[] }>(app: T): Omit<T, 'releases'> & AppForView {
  const { releases, ...rest } = app;
  return { ...rest, lastReleasedAt: releases[0]?.createdAt ?? null };
}

const TX = { maxWait: 10_000, timeout: 15_000 };

@Injectable()
export class AppsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Creates the app unless its org has `maxApps` already (counted under the org's row lock, so
   * that concurrent creations cannot pass the limit together).
   */
  async create(app: NewApp, maxApps: number): Promise<{ created: AppModel } | { full: number }> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM orgs WHERE id = ${app.orgId}::uuid FOR UPDATE`;
      const count = await tx.app.count({ where: { orgId: app.orgId } });
      if (count >= maxApps) return { full: count };
      const created = await tx.app.create({
        data: {
          orgId: app.orgId,
          name: app.name,
          runtime: 'rust',
          rustTarget: app.rustTarget,
          env: app.env,
          timeoutMs: app.timeoutMs ?? null,
          memoryMb: app.memoryMb ?? null,
          invokeAuth: app.auth,
          rateLimitPerSecond: app.rateLimitPerSecond ?? null,
          concurrencyLimit: app.concurrencyLimit ?? null,
        },
      });
      return { created };
    }, TX);
  }

  /** Changes who may invoke it and its limits; null when the app is gone. */
  async updateAccess(appId: string, change: AppAccessChange): Promise<AppForView | null> {
    const updated = await this.prisma.app.updateMany({
      where: { id: appId },
      data: {
        ...(change.auth === undefined ? {} : { invokeAuth: change.auth }),
        ...(change.rateLimitPerSecond === undefined ? {} : { rateLimitPerSecond: change.rateLimitPerSecond }),
        ...(change.concurrencyLimit === undefined ? {} : { concurrencyLimit: change.concurrencyLimit }),
      },
    });
    if (updated.count === 0) return null;
    const app = await this.prisma.app.findUnique({ where: { id: appId }, include: FOR_VIEW });
    return app && forView(app);
  }

  async list(orgId: string): Promise<AppForView[]> {
    const apps = await this.prisma.app.findMany({ where: { orgId }, orderBy: { name: 'asc' }, include: FOR_VIEW });
    return apps.map(forView);
  }

  async findByName(orgId: string, name: string): Promise<AppWithActive | null> {
    return this.prisma.app.findUnique({ where: { orgId_name: { orgId, name } }, include: { activeRelease: true } });
  }

  async findDetail(orgId: string, name: string): Promise<AppDetail | null> {
    const app = await this.prisma.app.findUnique({
      where: { orgId_name: { orgId, name } },
      include: { ...FOR_VIEW, draft: true, builds: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 1 } },
    });
    if (!app) return null;
    const { builds, ...rest } = forView(app);
    return { ...rest, latestBuild: builds[0] ?? null };
  }

  /** Rewrites the env under the app's row lock, so concurrent patches never lose each other's changes. */
  async updateEnv(appId: string, change: (env: AppModel['env']) => Record<string, string>): Promise<AppForView | null> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM apps WHERE id = ${appId}::uuid FOR UPDATE`;
      const current = await tx.app.findUnique({ where: { id: appId }, select: { env: true } });
      if (!current) return null;
      return forView(await tx.app.update({ where: { id: appId }, data: { env: change(current.env) }, include: FOR_VIEW }));
    }, TX);
  }

  /**
   * Deletes the app and, by cascade, its draft, builds, log lines, releases and invocations.
   * Resolves with the content addresses the app referenced (candidates for collection), or
   * undefined when the app was already gone.
   */
  async delete(appId: string): Promise<string[] | undefined> {
    return this.prisma.$transaction(async (tx) => {
      const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM apps WHERE id = ${appId}::uuid FOR UPDATE`;
      if (locked.length === 0) return undefined;
      // One after another: a transaction is one connection, and queries sent on it at once
      // queue in pg anyway (with its "already executing a query" deprecation warning).
      const draft = await tx.draft.findUnique({ where: { appId }, select: { sourceSha256: true } });
      const builds = await tx.build.findMany({ where: { appId }, select: { sourceSha256: true, artifactSha256: true } });
      const releases = await tx.release.findMany({ where: { appId }, select: { artifactSha256: true } });
      const shas = new Set<string>();
      if (draft) shas.add(draft.sourceSha256);
      for (const build of builds) {
        shas.add(build.sourceSha256);
        if (build.artifactSha256) shas.add(build.artifactSha256);
      }
      for (const release of releases) shas.add(release.artifactSha256);
      // The app's active release points back at the app: clear it so the cascade has no cycle to trip on.
      await tx.app.update({ where: { id: appId }, data: { activeReleaseId: null } });
      await tx.app.delete({ where: { id: appId } });
      return [...shas];
    }, TX);
  }
}
