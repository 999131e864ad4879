import { type BuildEvent, channels } from '@ignite/contracts';
import type { Prisma, PrismaClient } from '@ignite/database';
import type { Redis } from 'ioredis';
import type { LogStream } from '../executors/build-executor';

export interface ClaimedBuild {
  id: string;
  attempt: number;
  target: 'native' | 'wasm';
  sourceSha256: string;
  functionId: string;
  logLines: number;
  queuedAt: Date;
}

export type ClaimResult = { claimed: ClaimedBuild } | { skipped: string };

const TERMINAL = new Set(['succeeded', 'failed', 'canceled']);

/** The worker's reads and writes of builds: status transitions, logs, and their notifications. */
export class BuildRepository {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * Takes the build for this attempt. A build already finished is never run again (a retried job
   * of a build that completed); a build canceled while queued is marked canceled.
   */
  async claim(buildId: string, executor: string): Promise<ClaimResult> {
    const result = await this.prisma.$transaction(async (tx) => {
      const rows = await tx.$queryRaw<{ id: string }[]>`select id from builds where id = ${buildId}::uuid for update`;
      if (rows.length === 0) return { skipped: 'build no longer exists' } as const;
      const build = await tx.build.findUniqueOrThrow({ where: { id: buildId }, include: { app: { include: { org: true } } } });
      if (TERMINAL.has(build.status)) return { skipped: `build already ${build.status}` } as const;
      if (build.cancelRequestedAt) {
        await tx.build.update({
          where: { id: buildId },
          data: { status: 'canceled', finishedAt: new Date(), errorSummary: 'canceled before it started' },
        });
        return { skipped: 'canceled before it started', canceled: true } as const;
      }
      const now = new Date();
      const updated = await tx.build.update({
        where: { id: buildId },
        data: {
          status: 'running',
          executor,
          attempts: { increment: 1 },
          startedAt: build.startedAt ?? now,
          queueWaitMs: build.queueWaitMs ?? now.getTime() - build.queuedAt.getTime(),
        },
      });
      return {
        claimed: {
          id: build.id,
          attempt: updated.attempts,
          target: build.target,
          sourceSha256: build.sourceSha256,
          functionId: `${build.app.org.slug}/${build.app.name}`,
          logLines: build.logLines,
          queuedAt: build.queuedAt,
        },
      } as const;
    });
    if ('claimed' in result && result.claimed) {
      await this.publish(buildId, { type: 'status', status: 'running' });
      return { claimed: result.claimed };
    }
    if ('canceled' in result) await this.publish(buildId, { type: 'status', status: 'canceled' });
    return { skipped: result.skipped ?? 'not claimed' };
  }

  async appendLogs(buildId: string, lines: { seq: number; stream: LogStream; text: string }[]): Promise<void> {
    if (lines.length === 0) return;
    await this.prisma.$transaction([
      this.prisma.buildLogLine.createMany({ data: lines.map((line) => ({ buildId, ...line })), skipDuplicates: true }),
      this.prisma.build.update({ where: { id: buildId }, data: { logLines: lines.at(-1)!.seq + 1 } }),
    ]);
    const last = lines.at(-1)!;
    await this.publish(buildId, { type: 'log', seq: last.seq, stream: last.stream, text: last.text });
  }

  /** Finishes the build if this attempt still owns it; returns false when another attempt took over. */
  async finish(
    build: ClaimedBuild,
    status: 'succeeded' | 'failed' | 'canceled',
    data: Prisma.BuildUpdateManyMutationInput,
  ): Promise<boolean> {
    const { count } = await this.prisma.build.updateMany({
      where: { id: build.id, status: 'running', attempts: build.attempt },
      data: { ...data, status, finishedAt: new Date() },
    });
    if (count === 1) await this.publish(build.id, { type: 'status', status });
    return count === 1;
  }

  /** A job BullMQ gave up on (its worker died too often): the build fails with that reason. */
  async failAbandoned(buildId: string, reason: string): Promise<void> {
    const { count } = await this.prisma.build.updateMany({
      where: { id: buildId, status: { in: ['queued', 'running'] } },
      data: { status: 'failed', finishedAt: new Date(), errorSummary: reason },
    });
    if (count === 1) await this.publish(buildId, { type: 'status', status: 'failed' });
  }

  /** Builds running on an executor, claimed more than `olderThanMs` ago (younger ones may not have started their work yet). */
  async runningBuildIds(executor: string, olderThanMs = 0): Promise<string[]> {
    const rows = await this.prisma.build.findMany({
      where: { status: 'running', executor, updatedAt: { lt: new Date(Date.now() - olderThanMs) } },
      select: { id: true },
    });
    return rows.map((row) => row.id);
  }

  async isCancelRequested(buildId: string): Promise<boolean> {
    const build = await this.prisma.build.findUnique({ where: { id: buildId }, select: { cancelRequestedAt: true } });
    return Boolean(build?.cancelRequestedAt);
  }

  async recordArtifactBlob(sha256: string, size: number): Promise<void> {
    await this.prisma.blob.upsert({ where: { sha256 }, create: { sha256, size, kind: 'artifact' }, update: {} });
  }

  /**
   * A component's precompiled form for one engine configuration, stored as blob `sha256`: the
   * runner loads it only when its bytes hash to this. A second build of the same component (same
   * sha256) replaces the row (Cranelift's output is deterministic, so it is the same file anyway).
   */
  async recordPrecompiled(componentSha256: string, cacheKey: string, sha256: string, size: number): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.blob.upsert({ where: { sha256 }, create: { sha256, size, kind: 'precompiled' }, update: {} }),
      this.prisma.precompiledComponent.upsert({
        where: { componentSha256_cacheKey: { componentSha256, cacheKey } },
        create: { componentSha256, cacheKey, sha256, size },
        update: { sha256, size },
      }),
    ]);
  }

  private async publish(buildId: string, event: BuildEvent): Promise<void> {
    await this.redis.publish(channels.buildEvents(this.prefix, buildId), JSON.stringify(event)).catch(() => undefined);
  }
}
