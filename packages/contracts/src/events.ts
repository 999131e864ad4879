import { z } from 'zod';
import { type DirectReport, readDirectReports } from './direct-reports';
import { validateEach } from './validate-each';

/**
 * Redis pub/sub and stream names. Every name is prefixed with the environment's queue prefix
 * (`IGNITE_QUEUE_PREFIX`, default `ignite`) so tests and environments never hear each other.
 */
export const channels = {
  /** Pub/sub: the API announces a new active release (publish or rollback); runners drop caches and drain. */
  releases: (prefix: string) => `${prefix}:releases`,
  /** Stream: runners append their invocation reports (see `invocationStreamFields`); the API records them in Postgres. */
  invocations: (prefix: string) => `${prefix}:invocations`,
  /** Stream: runners append the functions' log lines (`FunctionLogBatchSchema`, field `lines`); the API stores them for their owners. */
  functionLogs: (prefix: string) => `${prefix}:function-logs`,
  /** Pub/sub: the API stored new log lines of an app (a wake-up for its followers; the lines are read from Postgres). */
  functionLogsStored: (prefix: string, appId: string) => `${prefix}:function-logs:${appId}`,
  /** Pub/sub: the API created or revoked an API key (`ApiKeyChanged`); data planes drop it from their key cache. */
  apiKeys: (prefix: string) => `${prefix}:api-keys`,
  /** Pub/sub: build log lines and status changes as the worker produces them, per build. */
  buildEvents: (prefix: string, buildId: string) => `${prefix}:build:${buildId}`,
} as const;

export const ReleaseActivatedSchema = z.object({
  appId: z.uuid(),
  /** `org/app`, as `ctx.function_id()` sees it. */
  functionId: z.string(),
  releaseId: z.uuid(),
  number: z.number().int().positive(),
});
export type ReleaseActivated = z.infer<typeof ReleaseActivatedSchema>;

export const InvocationReportSchema = z.object({
  executionId: z.string(),
  appId: z.uuid(),
  releaseId: z.uuid().nullable(),
  statusCode: z.number().int(),
  durationMs: z.number().nonnegative(),
  cold: z.boolean(),
  error: z.string().nullable(),
  at: z.iso.datetime(),
});
export type InvocationReport = z.infer<typeof InvocationReportSchema>;

/**
 * The fields of an invocations stream entry, one of:
 * - `reports`: a JSON array of reports (the runner's own invocations, one entry per batch: one
 *   entry per invocation cost Redis more than the function at tens of thousands a second);
 * - `direct`, `app`, `release`: invocations a program served on direct connections — its
 *   `reports` message exactly as it wrote it (see `DirectReportsMessageSchema`), forwarded without
 *   being read or rewritten — and the app and release they belong to;
 * - `data`: one report (what earlier runners wrote, still read).
 */
export const invocationStreamFields = { batch: 'reports', direct: 'direct', app: 'app', release: 'release', single: 'data' } as const;

/** The app and release a program's `direct` reports belong to (the `app` and `release` fields of their stream entry). */
const DirectReportOwnerSchema = z.object({ appId: z.uuid(), releaseId: z.uuid() });

/** A direct report as the API records it. */
export function invocationReportOf(batch: { appId: string; releaseId: string }, item: DirectReport): InvocationReport {
  return {
    executionId: item.e,
    appId: batch.appId,
    releaseId: batch.releaseId,
    statusCode: item.s,
    durationMs: item.d,
    cold: item.c,
    error: item.err ?? null,
    at: new Date(item.t).toISOString(),
  };
}

export const BuildEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log'), seq: z.number().int(), stream: z.enum(['stdout', 'stderr', 'system']), text: z.string() }),
  z.object({ type: z.literal('status'), status: z.enum(['queued', 'running', 'succeeded', 'failed', 'canceled']) }),
]);
export type BuildEvent = z.infer<typeof BuildEventSchema>;

/** An invocations stream entry read: the reports in it, and what in it was not a valid report. */
export interface InvocationStreamEntry {
  reports: InvocationReport[];
  invalid: z.core.$ZodIssue[][];
}

/**
 * The reports of one invocations stream entry (its fields as Redis returns them: name, value, …),
 * each validated; whatever is not a report is listed in `invalid` (its issues), not thrown.
 */
export function readInvocationStreamEntry(fields: string[]): InvocationStreamEntry {
  const field = (name: string) => {
    const index = fields.findIndex((value, i) => i % 2 === 0 && value === name);
    return index >= 0 ? fields[index + 1] : undefined;
  };
  const json = (text: string | undefined): unknown => {
    try {
      return text === undefined ? undefined : JSON.parse(text);
    } catch {
      return undefined;
    }
  };
  const direct = field(invocationStreamFields.direct);
  if (direct !== undefined) {
    const owner = DirectReportOwnerSchema.safeParse({
      appId: field(invocationStreamFields.app),
      releaseId: field(invocationStreamFields.release),
    });
    if (!owner.success) return { reports: [], invalid: [owner.error.issues] };
    const { reports, invalid } = readDirectReports(json(direct));
    return { reports: reports.map((report) => invocationReportOf(owner.data, report)), invalid };
  }
  const batch = field(invocationStreamFields.batch);
  const parsed = json(batch ?? field(invocationStreamFields.single));
  const candidates: unknown[] = batch !== undefined && Array.isArray(parsed) ? parsed : [parsed];
  const { valid, invalid } = validateEach(InvocationReportSchema, candidates);
  return { reports: valid, invalid };
}
