import { channels, type InvocationReport } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { Redis } from 'ioredis';
import type { Metrics } from './metrics';

/**
 * One round trip per batch: each report is still its own `XADD <stream> MAXLEN ~ <n> * data <json>`,
 * run by Redis from this script (a pipeline of XADDs costs the runner several times the CPU).
 */
const XADD_BATCH = `for i = 2, #ARGV do redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'data', ARGV[i]) end
return #ARGV - 1`;

type ScriptedRedis = Redis & { igniteReportBatch(stream: string, maxLength: string, ...entries: string[]): Promise<number> };

export interface ReporterOptions {
  /** A connection without an offline queue: commands fail at once while Redis is away. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  metrics: Metrics;
  /** Reports are sent at most this long after the invocation. */
  flushIntervalMs?: number;
  /** Most reports sent in one pipeline. */
  batchSize?: number;
  /** Most reports held while Redis is unreachable; the oldest are dropped beyond it. */
  maxPending?: number;
  /** Approximate length the stream is trimmed to. */
  streamMaxLength?: number;
}

/**
 * Appends one entry per invocation to the `channels.invocations(prefix)` stream, off the
 * response path: reports are queued, then sent in pipelined batches. While Redis is away they
 * are held (bounded) and retried; an outage never fails or slows an invocation.
 */
export class InvocationReporter {
  /** Serialized only when sent: never on the response path. */
  private pending: InvocationReport[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private closed = false;
  private lastFailureLog = 0;
  private readonly stream: string;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly maxLength: string;
  /** Falls back to a pipeline if the server refuses scripts. */
  private scripted = true;

  constructor(private readonly options: ReporterOptions) {
    this.stream = channels.invocations(options.prefix);
    this.flushIntervalMs = options.flushIntervalMs ?? 20;
    this.batchSize = options.batchSize ?? 200;
    this.maxPending = options.maxPending ?? 100_000;
    this.maxLength = String(options.streamMaxLength ?? 100_000);
    options.redis.defineCommand('igniteReportBatch', { numberOfKeys: 1, lua: XADD_BATCH });
  }

  report(report: InvocationReport): void {
    if (this.pending.length >= this.maxPending) {
      this.pending.shift();
      this.options.metrics.reportsDropped.inc();
    }
    this.pending.push(report);
    this.schedule(this.flushIntervalMs);
  }

  /** Sends what is pending (best effort) and stops. */
  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    while (this.pending.length > 0 && !this.closed) {
      if (!(await this.send())) break;
    }
    this.closed = true;
  }

  private schedule(delayMs: number): void {
    if (this.timer !== null || this.sending || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    let ok = true;
    while (this.pending.length > 0 && ok) ok = await this.send();
    this.sending = false;
    // Redis is away: try again a little later, the reports stay pending.
    if (this.pending.length > 0) this.schedule(ok ? this.flushIntervalMs : 1_000);
  }

  /** One pipelined batch; false if Redis refused it (the batch goes back to the front of the queue). */
  private async send(): Promise<boolean> {
    const batch = this.pending.splice(0, this.batchSize);
    const entries = batch.map((report) => JSON.stringify(report));
    try {
      if (this.scripted) {
        try {
          await (this.options.redis as ScriptedRedis).igniteReportBatch(this.stream, this.maxLength, ...entries);
        } catch (error) {
          if (!(error instanceof Error) || error.name !== 'ReplyError') throw error;
          this.options.logger.warn({ err: error }, 'redis refused the report script: sending reports as a pipeline of XADDs');
          this.scripted = false;
        }
      }
      if (!this.scripted) {
        const pipeline = this.options.redis.pipeline();
        for (const entry of entries) pipeline.xadd(this.stream, 'MAXLEN', '~', this.maxLength, '*', 'data', entry);
        const results = await pipeline.exec();
        const failed = results?.find(([error]) => error !== null)?.[0];
        if (failed) throw failed;
      }
    } catch (error) {
      const now = Date.now();
      if (now - this.lastFailureLog > 10_000) {
        this.lastFailureLog = now;
        this.options.logger.warn(
          { err: error, pending: this.pending.length + batch.length },
          'could not send invocation reports; will retry',
        );
      }
      this.pending = batch.concat(this.pending);
      const excess = this.pending.length - this.maxPending;
      if (excess > 0) {
        this.pending.splice(0, excess);
        this.options.metrics.reportsDropped.inc(excess);
      }
      return false;
    }
    return true;
  }
}
