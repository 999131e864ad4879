import { z } from 'zod';

/** BullMQ queue names. Queues carry ids only; the state lives in Postgres. */
export const QueueName = {
  builds: 'builds',
} as const;

export const JobName = {
  build: 'build',
} as const;

export const BuildJobSchema = z.object({
  buildId: z.uuid(),
});
export type BuildJob = z.infer<typeof BuildJobSchema>;
