import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';

/** Deletes by age, a bounded batch per statement (a large backlog never holds one long transaction). */
@Injectable()
export class RetentionRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** Deletes up to `batch` invocation records made before `before`; resolves with how many. */
  async deleteInvocationsBefore(before: Date, batch: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM invocations WHERE "executionId" IN (
        SELECT "executionId" FROM invocations WHERE "createdAt" < ${before} LIMIT ${batch}
      )`;
  }

  /** Deletes up to `batch` chunks of function log lines stored before `before`; resolves with how many chunks and lines. */
  async deleteFunctionLogChunksBefore(before: Date, batch: number): Promise<{ chunks: number; lines: number }> {
    const [row] = await this.prisma.$queryRaw<{ chunks: number; lines: number | null }[]>`
      WITH deleted AS (
        DELETE FROM function_log_chunks WHERE id IN (
          SELECT id FROM function_log_chunks WHERE "createdAt" < ${before} LIMIT ${batch}
        ) RETURNING "lineCount"
      )
      SELECT count(*)::int AS chunks, sum("lineCount")::int AS lines FROM deleted`;
    return { chunks: row?.chunks ?? 0, lines: row?.lines ?? 0 };
  }

  /**
   * Deletes the log lines of up to `batch` builds that finished before `before` and still have
   * some; their `logLines` becomes 0 (what the build's view and its log route then say).
   * Resolves with how many builds.
   */
  async deleteBuildLogsBefore(before: Date, batch: number): Promise<number> {
    return this.prisma.$transaction(async (tx) => {
      const builds = await tx.build.findMany({
        where: { finishedAt: { lt: before }, logLines: { gt: 0 } },
        select: { id: true },
        take: batch,
      });
      if (builds.length === 0) return 0;
      const ids = builds.map((build) => build.id);
      await tx.buildLogLine.deleteMany({ where: { buildId: { in: ids } } });
      await tx.build.updateMany({ where: { id: { in: ids } }, data: { logLines: 0 } });
      return ids.length;
    });
  }
}
