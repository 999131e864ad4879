import { type BuildJob, BuildJobSchema, JobName, QueueName } from '@ignite/contracts';
import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';

const ENQUEUE_TIMEOUT_MS = 5_000;
/** BullMQ's lowest priority (1 is the highest). */
const MAX_PRIORITY = 2_097_152;

/** The build queue: carries build ids only (the state is the Build row). */
@Injectable()
export class BuildQueue {
  constructor(
    @InjectQueue(QueueName.builds) private readonly queue: Queue<BuildJob>,
    @InjectPinoLogger(BuildQueue.name) logger: PinoLogger,
  ) {
    queue.on('error', (error: Error) => logger.warn({ err: error.message }, 'build queue connection error'));
  }

  /**
   * Adds the build's job (idempotent: the job id is the build id). `orgPlace`: how many of its
   * org's builds are queued or running with it. It is the job's priority, so that workers take
   * every org's first build before any org's second: an org with many builds queued does not
   * starve another's one. Without it (a job given again by the reconciler) the job goes first.
   */
  async enqueue(buildId: string, orgPlace?: number): Promise<void> {
    const data = BuildJobSchema.parse({ buildId });
    await withTimeout(
      this.queue.add(JobName.build, data, {
        jobId: buildId,
        ...(orgPlace === undefined ? {} : { priority: Math.min(Math.max(1, orgPlace), MAX_PRIORITY) }),
        attempts: 3,
        backoff: { type: 'exponential', delay: 5_000 },
        removeOnComplete: { count: 1_000, age: 7 * 24 * 3600 },
        removeOnFail: { count: 5_000, age: 30 * 24 * 3600 },
      }),
      ENQUEUE_TIMEOUT_MS,
      'the build queue did not answer in time',
    );
  }

  /** Removes a job that no worker holds; resolves with whether it was removed (or never there). */
  async remove(buildId: string): Promise<boolean> {
    const job = await this.queue.getJob(buildId);
    if (!job) return true;
    return (await this.queue.remove(buildId)) === 1;
  }

  async has(buildId: string): Promise<boolean> {
    return (await this.queue.getJob(buildId)) !== undefined;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
