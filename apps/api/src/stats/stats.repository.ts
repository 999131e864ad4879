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

/** One bucket of one series of a timeline: all releases together (`total`) or one release. */
export interface TimelineRow {
  total: boolean;
  releaseNumber: number | null;
  /** The bucket's place: it starts at `since` + bucket × step. */
  bucket: number;
  invocations: number;
  errors: number;
  cold: number;
  p50: number | null;
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

  /**
   * The app's invocations from `since` to `until` in `buckets` buckets of `stepSeconds` from
   * `since`: a row for every bucket of the series of all releases, then of each release invoked
   * in that time (newest first), empty buckets included (their counts 0, percentiles null).
   * Invocations of a release since deleted count in all releases only.
   */
  async timeline(appId: string, since: Date, until: Date, stepSeconds: number, buckets: number): Promise<TimelineRow[]> {
    return this.prisma.$queryRaw<TimelineRow[]>`
      WITH hits AS (
        SELECT i."releaseId", i."statusCode", i."durationMs", i.cold,
               date_bin(make_interval(secs => ${stepSeconds}), i."createdAt", ${since}::timestamp) AS at
          FROM invocations i
         WHERE i."appId" = ${appId}::uuid AND i."createdAt" >= ${since}::timestamp AND i."createdAt" < ${until}::timestamp
      ),
      figures AS (
        SELECT GROUPING(h."releaseId") = 1 AS total, h."releaseId", h.at,
               count(*)::int AS invocations,
               (count(*) FILTER (WHERE h."statusCode" >= 500))::int AS errors,
               (count(*) FILTER (WHERE h.cold))::int AS cold,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY h."durationMs") AS p50,
               percentile_cont(0.99) WITHIN GROUP (ORDER BY h."durationMs") AS p99
          FROM hits h
         GROUP BY GROUPING SETS ((h.at), (h."releaseId", h.at))
      ),
      series AS (
        SELECT true AS total, NULL::uuid AS "releaseId"
        UNION ALL
        SELECT DISTINCT false, h."releaseId" FROM hits h WHERE h."releaseId" IS NOT NULL
      ),
      buckets AS (
        SELECT (b.n - 1)::int AS bucket, b.at
          FROM generate_series(${since}::timestamp, ${since}::timestamp + make_interval(secs => ${stepSeconds * (buckets - 1)}),
                               make_interval(secs => ${stepSeconds})) WITH ORDINALITY AS b(at, n)
      )
      SELECT s.total, r.number AS "releaseNumber", b.bucket,
             coalesce(f.invocations, 0) AS invocations, coalesce(f.errors, 0) AS errors, coalesce(f.cold, 0) AS cold,
             f.p50, f.p99
        FROM series s
        CROSS JOIN buckets b
        LEFT JOIN figures f ON f.total = s.total AND f."releaseId" IS NOT DISTINCT FROM s."releaseId" AND f.at = b.at
        LEFT JOIN releases r ON r.id = s."releaseId"
       ORDER BY s.total DESC, r.number DESC, b.bucket`;
  }
}
