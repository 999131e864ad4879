import { BuildJobSchema, JobName, QueueName } from '@ignite/contracts';
import { createRedis, type Logger } from '@ignite/service-kit';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BuildRepository } from './builds/build-repository';
import type { BuildPipeline } from './pipeline/build-pipeline';

export const cancelChannel = (prefix: string) => `${prefix}:build-cancel`;

/**
 * Consumes build jobs. A job whose worker died is retried by BullMQ (stalled detection); the
 * pipeline's claim makes sure a build is never run to completion twice. Cancel requests arrive on
 * a pub/sub channel and abort the build where it runs.
 */
export class BuildWorker {
  private readonly running = new Map<string, AbortController>();
  private worker?: Worker;
  private subscriber?: Redis;
  private workerConnection?: Redis;

  constructor(
    private readonly options: { redisUrl: string; prefix: string; concurrency: number; lockDurationMs: number },
    private readonly pipeline: BuildPipeline,
    private readonly builds: BuildRepository,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const { redisUrl, prefix, concurrency } = this.options;
    this.subscriber = createRedis(redisUrl);
    await this.subscriber.subscribe(cancelChannel(prefix));
    this.subscriber.on('message', (_channel, message: string) => {
      const buildId = safeBuildId(message);
      const controller = buildId ? this.running.get(buildId) : undefined;
      if (controller) {
        this.logger.info({ buildId }, 'build cancel requested');
        controller.abort();
      }
    });

    this.workerConnection = createRedis(redisUrl);
    this.worker = new Worker(QueueName.builds, (job) => this.process(job), {
      connection: this.workerConnection,
      prefix,
      concurrency,
      lockDuration: this.options.lockDurationMs,
      stalledInterval: this.options.lockDurationMs,
      maxStalledCount: 2,
    });
    this.worker.on('failed', (job, error) => {
      if (!job) return;
      const attemptsLeft = (job.opts.attempts ?? 1) > job.attemptsMade;
      this.logger.error({ buildId: job.data?.buildId, err: error, attemptsLeft }, 'build job failed');
      if (!attemptsLeft || error.message.includes('stalled')) {
        void this.builds.failAbandoned(job.data.buildId, `the build could not be completed: ${error.message}`);
      }
    });
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'build worker error'));
    await this.worker.waitUntilReady();
    this.logger.info({ concurrency, queue: QueueName.builds }, 'compile worker ready');
  }

  private async process(job: Job): Promise<string> {
    if (job.name !== JobName.build) throw new Error(`unknown job ${job.name}`);
    const { buildId } = BuildJobSchema.parse(job.data);
    const controller = new AbortController();
    this.running.set(buildId, controller);
    try {
      // A cancel that arrived between enqueue and now was recorded on the row.
      if (await this.builds.isCancelRequested(buildId)) controller.abort();
      const result = await this.pipeline.run(buildId, controller.signal);
      this.logger.info({ buildId, result }, 'build finished');
      return result;
    } finally {
      this.running.delete(buildId);
    }
  }

  async stop(): Promise<void> {
    for (const controller of this.running.values()) controller.abort();
    await this.worker?.close();
    this.workerConnection?.disconnect();
    this.subscriber?.disconnect();
  }
}

function safeBuildId(message: string): string | undefined {
  try {
    const parsed = JSON.parse(message) as { buildId?: unknown };
    return typeof parsed.buildId === 'string' ? parsed.buildId : undefined;
  } catch {
    return message;
  }
}
