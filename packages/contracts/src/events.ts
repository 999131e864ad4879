import { z } from 'zod';

/**
 * Redis pub/sub and stream names. Every name is prefixed with the environment's queue prefix
 * (`IGNITE_QUEUE_PREFIX`, default `ignite`) so tests and environments never hear each other.
 */
export const channels = {
  /** Pub/sub: the API announces a new active release (publish or rollback); runners drop caches and drain. */
  releases: (prefix: string) => `${prefix}:releases`,
  /** Stream: runners append one entry per invocation; the API records them in Postgres. */
  invocations: (prefix: string) => `${prefix}:invocations`,
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

export const BuildEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('log'), seq: z.number().int(), stream: z.enum(['stdout', 'stderr', 'system']), text: z.string() }),
  z.object({ type: z.literal('status'), status: z.enum(['queued', 'running', 'succeeded', 'failed', 'canceled']) }),
]);
export type BuildEvent = z.infer<typeof BuildEventSchema>;
