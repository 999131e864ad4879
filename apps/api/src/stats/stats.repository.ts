import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';

/** The figures of a window's invocations, for all of them (`releaseNumber` undefined) or one release. */
export interface FiguresRow {
  /** True on the row of all releases together. */
  total: boolean;
  releaseNumber: number | null;
  invocations: number;
  handler: number;
  panic: number;
  timeout: number;
  memory: number;
  crash: number;
  platform: number;
  client: number;
  cold: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

@Injectable()
export class StatsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * The app's invocations since `since`, as figures: each failed invocation by its cause, read
   * from its record — 504 is its time limit; the runner's words for a memory limit and a process
   * that died; a 500 with a panic line in its logs panicked (the SDK logs a handler's panic with
   * its location), other 500s are the handler's errors; any other 5xx is the platform's. One row
   * for all releases, one per release.
   */
  async figures(appId: string, since: Date): Promise<FiguresRow[]> {
    return this.prisma.$queryRaw<FiguresRow[]>`
      WITH classified AS (
        SELECT i."releaseId", i."durationMs", i.cold,
               CASE
                 WHEN i."statusCode" < 400 THEN 'ok'
                 WHEN i."statusCode" < 500 THEN 'client'
                 WHEN i."statusCode" = 504 THEN 'timeout'
                 WHEN i.error LIKE 'the function exceeded its memory limit%' THEN 'memory'
                 WHEN i.error LIKE 'the function''s process exited%' THEN 'crash'
                 WHEN i."statusCode" = 500 AND EXISTS (
                   SELECT 1 FROM function_log_chunks c, unnest(c.executions, c.texts) AS l(execution, text)
                    WHERE c."appId" = i."appId" AND c."executionIds" @> ARRAY[i."executionId"]
                      AND l.execution = i."executionId"
                      AND (l.text LIKE 'panicked at %' OR l.text LIKE 'thread % panicked at %')
                 ) THEN 'panic'
                 WHEN i."statusCode" = 500 THEN 'handler'
                 ELSE 'platform'
               END AS kind
          FROM invocations i
         WHERE i."appId" = ${appId}::uuid AND i."createdAt" >= ${since}
      )
      SELECT GROUPING(c."releaseId") = 1 AS total,
             r.number AS "releaseNumber",
             count(*)::int AS invocations,
             (count(*) FILTER (WHERE kind = 'handler'))::int AS handler,
             (count(*) FILTER (WHERE kind = 'panic'))::int AS panic,
             (count(*) FILTER (WHERE kind = 'timeout'))::int AS timeout,
             (count(*) FILTER (WHERE kind = 'memory'))::int AS memory,
             (count(*) FILTER (WHERE kind = 'crash'))::int AS crash,
             (count(*) FILTER (WHERE kind = 'platform'))::int AS platform,
             (count(*) FILTER (WHERE kind = 'client'))::int AS client,
             (count(*) FILTER (WHERE cold))::int AS cold,
             percentile_cont(0.5) WITHIN GROUP (ORDER BY c."durationMs") AS p50,
             percentile_cont(0.9) WITHIN GROUP (ORDER BY c."durationMs") AS p90,
             percentile_cont(0.99) WITHIN GROUP (ORDER BY c."durationMs") AS p99
        FROM classified c
        LEFT JOIN releases r ON r.id = c."releaseId"
       GROUP BY GROUPING SETS ((), (c."releaseId", r.number))
       ORDER BY total DESC, r.number DESC NULLS LAST`;
  }
}
