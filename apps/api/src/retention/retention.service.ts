import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { API_CONFIG } from '../infra/tokens';
import { RetentionRepository } from './retention.repository';

const DAY_MS = 24 * 3600 * 1000;
/** How often the API looks for what is past retention (and once at start). */
export const SWEEP_INTERVAL_MS = 3600 * 1000;
const INVOCATION_BATCH = 10_000;
const BUILD_BATCH = 200;
/** Chunks of up to 5,000 lines each. */
const FUNCTION_LOG_CHUNK_BATCH = 200;

/**
 * Keeps Postgres from growing without bound: invocation records older than
 * `INVOCATION_RETENTION_DAYS` and the log lines of builds finished more than
 * `BUILD_LOG_RETENTION_DAYS` ago and functions' log lines older than
 * `FUNCTION_LOG_RETENTION_DAYS` are deleted, at start and every hour (by every API replica:
 * the deletes are idempotent). Builds, releases and their artifacts are kept.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private stopping = false;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly retention: RetentionRepository,
    @InjectPinoLogger(RetentionService.name) private readonly logger: PinoLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.kick();
    this.timer = setInterval(() => this.kick(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One sweep (the timer's, or a test's): resolves with what it deleted. */
  async sweep(now = new Date()): Promise<{ invocations: number; buildLogs: number; functionLogLines: number }> {
    const invocationsBefore = new Date(now.getTime() - this.config.INVOCATION_RETENTION_DAYS * DAY_MS);
    const logsBefore = new Date(now.getTime() - this.config.BUILD_LOG_RETENTION_DAYS * DAY_MS);
    const functionLogsBefore = new Date(now.getTime() - this.config.FUNCTION_LOG_RETENTION_DAYS * DAY_MS);
    let invocations = 0;
    let buildLogs = 0;
    let functionLogLines = 0;
    for (let deleted = INVOCATION_BATCH; deleted === INVOCATION_BATCH && !this.stopping; ) {
      deleted = await this.retention.deleteInvocationsBefore(invocationsBefore, INVOCATION_BATCH);
      invocations += deleted;
    }
    for (let deleted = BUILD_BATCH; deleted === BUILD_BATCH && !this.stopping; ) {
      deleted = await this.retention.deleteBuildLogsBefore(logsBefore, BUILD_BATCH);
      buildLogs += deleted;
    }
    for (let chunks = FUNCTION_LOG_CHUNK_BATCH; chunks === FUNCTION_LOG_CHUNK_BATCH && !this.stopping; ) {
      const deleted = await this.retention.deleteFunctionLogChunksBefore(functionLogsBefore, FUNCTION_LOG_CHUNK_BATCH);
      chunks = deleted.chunks;
      functionLogLines += deleted.lines;
    }
    if (invocations > 0 || buildLogs > 0 || functionLogLines > 0) {
      this.logger.info(
        { invocations, buildLogs, functionLogLines, invocationsBefore, logsBefore, functionLogsBefore },
        'records past retention deleted',
      );
    }
    return { invocations, buildLogs, functionLogLines };
  }

  private kick(): void {
    if (this.sweeping || this.stopping) return;
    this.sweeping = this.sweep()
      .then(() => undefined)
      // Postgres away: the next hour's sweep tries again.
      .catch((error: unknown) =>
        this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'retention sweep failed'),
      )
      .finally(() => {
        this.sweeping = undefined;
      });
  }
}
