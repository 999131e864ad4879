import { z } from 'zod';
import { INVOKE_AUTH_MODES } from './public-invoke';

/**
 * The API's answers, as zod schemas: the API documents and produces them (apps/api), the CLI's
 * typed client parses them (apps/cli). Times are ISO 8601 strings.
 */

const isoTime = z.iso.datetime();
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const buildStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'canceled']);
const rustTarget = z.enum(['native', 'wasm']);

export const DraftViewSchema = z
  .object({
    revision: z.number().int(),
    sha256,
    size: z.number().int(),
    format: z.enum(['tar.gz', 'zip']),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Draft' });
export type DraftView = z.infer<typeof DraftViewSchema>;

export const DraftSavedSchema = z.object({ revision: z.number().int(), sha256, size: z.number().int(), format: z.enum(['tar.gz', 'zip']) });
export type DraftSaved = z.infer<typeof DraftSavedSchema>;

export const BuildViewSchema = z
  .object({
    id: z.uuid(),
    appId: z.uuid(),
    status: buildStatus,
    target: rustTarget,
    draftRevision: z.number().int(),
    sourceSha256: sha256,
    executor: z.string().nullable(),
    attempts: z.number().int(),
    queuedAt: isoTime,
    startedAt: isoTime.nullable(),
    finishedAt: isoTime.nullable(),
    cancelRequestedAt: isoTime.nullable(),
    queueWaitMs: z.number().int().nullable(),
    unpackMs: z.number().int().nullable(),
    buildMs: z.number().int().nullable(),
    verifyMs: z.number().int().nullable(),
    errorSummary: z.string().nullable(),
    diagnostics: z.unknown().describe('The first compiler errors, as the worker recorded them'),
    artifactSha256: sha256.nullable(),
    artifactSize: z.number().int().nullable(),
    toolchain: z.string().nullable(),
    targetTriple: z.string().nullable(),
    logLines: z.number().int(),
  })
  .meta({ id: 'Build' });
export type BuildView = z.infer<typeof BuildViewSchema>;

export const ReleaseViewSchema = z
  .object({
    id: z.uuid(),
    number: z.number().int(),
    buildId: z.uuid(),
    target: rustTarget,
    artifactSha256: sha256,
    artifactSize: z.number().int(),
    createdAt: isoTime,
    active: z.boolean(),
  })
  .meta({ id: 'Release' });
export type ReleaseView = z.infer<typeof ReleaseViewSchema>;

export const AppViewSchema = z
  .object({
    id: z.uuid(),
    org: z.string(),
    name: z.string(),
    runtime: z.enum(['rust']),
    rustTarget,
    env: z.record(z.string(), z.string()),
    timeoutMs: z.number().int().nullable(),
    memoryMb: z.number().int().nullable(),
    auth: z.enum(INVOKE_AUTH_MODES).describe('Who may invoke it: `key` (an API key of the org) or `public` (anyone, no key)'),
    rateLimitPerSecond: z.number().int().nullable().describe("Most invocations a second (null: the runner's default)"),
    concurrencyLimit: z.number().int().nullable().describe("Most invocations at the same time (null: the runner's default)"),
    activeReleaseNumber: z.number().int().nullable(),
    lastReleasedAt: isoTime.nullable().describe('When the newest release was published (null: never)'),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'App' });
export type AppView = z.infer<typeof AppViewSchema>;

export const AppDetailViewSchema = AppViewSchema.extend({
  draft: DraftViewSchema.nullable(),
  latestBuild: BuildViewSchema.nullable(),
  activeRelease: ReleaseViewSchema.nullable(),
}).meta({ id: 'AppDetail' });
export type AppDetailView = z.infer<typeof AppDetailViewSchema>;

export const InvocationViewSchema = z
  .object({
    executionId: z.string(),
    releaseNumber: z.number().int().nullable(),
    statusCode: z.number().int(),
    durationMs: z.number(),
    cold: z.boolean(),
    error: z.string().nullable(),
    createdAt: isoTime,
  })
  .meta({ id: 'Invocation' });
export type InvocationView = z.infer<typeof InvocationViewSchema>;

export const FunctionLogLineViewSchema = z
  .object({
    id: z.string().describe("The line's place in the app's log: pass the last one as `cursor` for the lines after it"),
    at: isoTime.describe('When the runner read it'),
    executionId: z
      .string()
      .nullable()
      .describe('The invocation it belongs to; null for a line written outside one (or where that is unknown)'),
    releaseNumber: z.number().int().nullable(),
    instance: z.string().describe('The instance (one run of the function) that wrote it'),
    stream: z
      .enum(['stdout', 'stderr', 'platform'])
      .describe('`platform`: the platform about the instance (dropped lines, why it stopped)'),
    text: z.string(),
  })
  .meta({ id: 'FunctionLogLine' });
export type FunctionLogLineView = z.infer<typeof FunctionLogLineViewSchema>;

export const FunctionLogPageSchema = z.object({
  lines: z.array(FunctionLogLineViewSchema).describe('Oldest first'),
  cursor: z.string().nullable().describe('The id of the last line: `cursor` for the next page, or for what comes later'),
  more: z.boolean().describe('More lines match after these (ask again with `cursor`)'),
});
export type FunctionLogPage = z.infer<typeof FunctionLogPageSchema>;

export const InvocationDetailViewSchema = InvocationViewSchema.extend({
  logs: z.array(FunctionLogLineViewSchema).describe("The invocation's log lines, oldest first (at most 1,000)"),
  logsTruncated: z.boolean(),
}).meta({ id: 'InvocationDetail' });
export type InvocationDetailView = z.infer<typeof InvocationDetailViewSchema>;

const DurationPercentilesSchema = z.object({ p50: z.number().nullable(), p90: z.number().nullable(), p99: z.number().nullable() });

const InvocationFiguresSchema = z.object({
  invocations: z.number().int(),
  errors: z.number().int().describe('Invocations that failed (the function or the platform: 5xx)'),
  errorRate: z.number().describe('errors / invocations (0 when there were none)'),
  errorsByKind: z
    .object({
      handler: z.number().int().describe('The handler returned an error'),
      panic: z.number().int().describe('The handler panicked (its panic line is in the logs)'),
      timeout: z.number().int().describe('It ran past its timeoutMs (504)'),
      memory: z.number().int().describe('Its instance exceeded memoryMb'),
      crash: z.number().int().describe("The function's process died while handling it (abort, a signal, exit)"),
      platform: z.number().int().describe('The platform could not run it (502/503: no instance, start failure)'),
    })
    .describe('5xx invocations by cause'),
  clientErrors: z.number().int().describe('4xx answers (a bad request body, too large): not counted in errors'),
  coldStarts: z.number().int(),
  coldStartRatio: z.number(),
  durationMs: DurationPercentilesSchema,
});

export const FunctionStatsSchema = z
  .object({
    window: z.string().describe('The window asked for (`1h`)'),
    since: isoTime,
    until: isoTime,
    ...InvocationFiguresSchema.shape,
    releases: z
      .array(InvocationFiguresSchema.extend({ releaseNumber: z.number().int().nullable() }))
      .describe('The same figures per release, newest first'),
  })
  .meta({ id: 'FunctionStats' });
export type FunctionStats = z.infer<typeof FunctionStatsSchema>;
export type InvocationFigures = z.infer<typeof InvocationFiguresSchema>;

const TimelinePointSchema = z.object({
  at: isoTime.describe('The start of the bucket (`since` + i × step)'),
  invocations: z.number().int(),
  errors: z.number().int().describe('Invocations that failed (5xx)'),
  errorRate: z.number().describe('errors / invocations (0 when there were none)'),
  coldStarts: z.number().int(),
  coldStartRatio: z.number().describe('coldStarts / invocations (0 when there were none)'),
  durationMs: z
    .object({ p50: z.number().nullable(), p99: z.number().nullable() })
    .describe('Percentiles of the durations (null for a bucket without invocations)'),
});

export const FunctionTimelineSchema = z
  .object({
    window: z.string().describe('The window asked for (`1h`)'),
    step: z.string().describe('The length of a bucket, as asked for or chosen (`1m`)'),
    stepSeconds: z.number().int(),
    since: isoTime.describe('The start of the first bucket'),
    until: isoTime.describe('The end of the window (the last bucket ends here or later)'),
    series: z
      .array(
        z.object({
          releaseNumber: z.number().int().nullable().describe('null: all releases together'),
          points: z.array(TimelinePointSchema).describe('Every bucket from since to until, oldest first (empty ones too)'),
        }),
      )
      .describe('All releases together first, then each release invoked in the window, newest first'),
  })
  .meta({ id: 'FunctionTimeline' });
export type FunctionTimeline = z.infer<typeof FunctionTimelineSchema>;
export type TimelinePoint = z.infer<typeof TimelinePointSchema>;

export const ApiKeyViewSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string().describe('The first 8 characters after `ign_`, to tell keys apart'),
    createdAt: isoTime,
    lastUsedAt: isoTime.nullable(),
    revokedAt: isoTime.nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

/** A key just created: its secret is in this answer and nowhere else, ever. */
export const ApiKeyCreatedSchema = z.object({ key: ApiKeyViewSchema, secret: z.string() });
export type ApiKeyCreated = z.infer<typeof ApiKeyCreatedSchema>;
