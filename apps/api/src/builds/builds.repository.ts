import type { BuildLogLineModel, BuildModel } from '@ignite/database';
import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';

export type CompileOutcome =
  | { kind: 'no-draft' }
  | { kind: 'app-gone' }
  | { kind: 'existing'; build: BuildModel }
  /** `inFlight`: the org's builds queued or running, this one included. */
  | { kind: 'created'; build: BuildModel; inFlight: number }
  /** The org has `inFlight` builds queued or running, its most. */
  | { kind: 'over-quota'; inFlight: number };

export const TERMINAL_STATUSES = ['succeeded', 'failed', 'canceled'] as const;
export type BuildStatus = BuildModel['status'];

export function isTerminal(status: BuildStatus): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

@Injectable()
export class BuildsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Under the org's and the app's row locks: the queued or running build of the current draft
   * revision and target if there is one, else a new queued build of it, unless the org has
   * `maxInFlight` builds queued or running. Concurrent callers get one build.
   */
  async createOrReuse(orgId: string, appId: string, target: BuildModel['target'], maxInFlight: number): Promise<CompileOutcome> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM orgs WHERE id = ${orgId}::uuid FOR UPDATE`;
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM apps WHERE id = ${appId}::uuid FOR UPDATE`;
        if (locked.length === 0) return { kind: 'app-gone' };
        const draft = await tx.draft.findUnique({ where: { appId } });
        if (!draft) return { kind: 'no-draft' };
        const existing = await tx.build.findFirst({
          where: { appId, draftRevision: draft.revision, target, status: { in: ['queued', 'running'] } },
          orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        });
        if (existing) return { kind: 'existing', build: existing };
        const inFlight = await tx.build.count({ where: { app: { orgId }, status: { in: ['queued', 'running'] } } });
        if (inFlight >= maxInFlight) return { kind: 'over-quota', inFlight };
        const build = await tx.build.create({
          data: { appId, draftRevision: draft.revision, sourceSha256: draft.sourceSha256, target, status: 'queued' },
        });
        return { kind: 'created', build, inFlight: inFlight + 1 };
      },
      { maxWait: 10_000, timeout: 15_000 },
    );
  }

  /** A queued build whose job could not be enqueued fails with the reason (unless something moved it on already). */
  async failQueued(buildId: string, reason: string): Promise<BuildModel | null> {
    await this.prisma.build.updateMany({
      where: { id: buildId, status: 'queued' },
      data: { status: 'failed', finishedAt: new Date(), errorSummary: reason },
    });
    return this.prisma.build.findUnique({ where: { id: buildId } });
  }

  async list(appId: string, take: number): Promise<BuildModel[]> {
    return this.prisma.build.findMany({ where: { appId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take });
  }

  async find(appId: string, buildId: string): Promise<BuildModel | null> {
    return this.prisma.build.findFirst({ where: { id: buildId, appId } });
  }

  /** A build of any app of the org (for routes that name only the build). */
  async findInOrg(orgId: string, buildId: string): Promise<BuildModel | null> {
    return this.prisma.build.findFirst({ where: { id: buildId, app: { orgId } } });
  }

  async status(buildId: string): Promise<BuildStatus | undefined> {
    const build = await this.prisma.build.findUnique({ where: { id: buildId }, select: { status: true } });
    return build?.status;
  }

  /** queued → canceled, only if still queued. Resolves with whether it moved. */
  async cancelQueued(buildId: string): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id: buildId, status: 'queued' },
      data: { status: 'canceled', finishedAt: new Date(), errorSummary: 'canceled before it started' },
    });
    return count === 1;
  }

  /** Marks a running build for cancellation (the worker stops it). Resolves with whether it is running. */
  async requestCancel(buildId: string): Promise<boolean> {
    const now = new Date();
    const { count } = await this.prisma.build.updateMany({
      where: { id: buildId, status: 'running', cancelRequestedAt: null },
      data: { cancelRequestedAt: now },
    });
    if (count === 1) return true;
    return (await this.status(buildId)) === 'running';
  }

  async logLinesAfter(buildId: string, afterSeq: number, take: number): Promise<Pick<BuildLogLineModel, 'seq' | 'text'>[]> {
    return this.prisma.buildLogLine.findMany({
      where: { buildId, seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take,
      select: { seq: true, text: true },
    });
  }

  /** Builds queued before `before`, oldest first: candidates for re-enqueueing after a crash. */
  async queuedBefore(before: Date, take: number): Promise<{ id: string }[]> {
    return this.prisma.build.findMany({
      where: { status: 'queued', queuedAt: { lt: before } },
      orderBy: { queuedAt: 'asc' },
      take,
      select: { id: true },
    });
  }
}
