import { channels, type FunctionLogLine, functionLogStreamFields, MAX_LINES_PER_ENTRY } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { Redis } from 'ioredis';
import type { Metrics } from '../metrics';
import type { FunctionLogSink, LogSource, SinkLine } from './log-sink';

export interface LogShipperOptions {
  /** A connection without an offline queue: commands fail at once while Redis is away. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  metrics: Metrics;
  /** Lines are sent at most this long after they were read (the follow latency's share of the runner). */
  flushIntervalMs?: number;
  /** Most lines held while Redis is unreachable; lines beyond it are dropped (and counted). */
  maxPending?: number;
  /** Approximate length the stream is trimmed to, in entries. */
  streamMaxLength?: number;
}

/**
 * The embedded `FunctionLogSink`: lines go, off the response path, onto the
 * `channels.functionLogs(prefix)` stream, one entry per release and flush (up to
 * `MAX_LINES_PER_ENTRY` lines), which the API stores in Postgres for the functions' owners. While
 * Redis is away the lines wait (bounded); an outage never slows an invocation.
 */
export class LogShipper implements FunctionLogSink {
  /** Lines waiting, by `appId releaseId`. */
  private pending = new Map<string, FunctionLogLine[]>();
  private pendingLines = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private closed = false;
  private droppedSince = 0;
  private lastFailureLog = 0;
  private readonly stream: string;
  private readonly flushIntervalMs: number;
  private readonly maxPending: number;
  private readonly maxLength: string;

  constructor(private readonly options: LogShipperOptions) {
    this.stream = channels.functionLogs(options.prefix);
    this.flushIntervalMs = options.flushIntervalMs ?? 50;
    this.maxPending = options.maxPending ?? 100_000;
    this.maxLength = String(options.streamMaxLength ?? 10_000);
  }

  write(source: LogSource, line: SinkLine): void {
    const n = source.next++;
    if (this.closed) return;
    if (this.pendingLines >= this.maxPending) {
      this.droppedSince++;
      this.options.metrics.functionLogLinesDropped.inc();
      return;
    }
    const key = `${source.appId} ${source.releaseId}`;
    let lines = this.pending.get(key);
    if (lines === undefined) {
      lines = [];
      this.pending.set(key, lines);
    }
    const item: FunctionLogLine = { i: source.instanceId, n, s: line.stream, t: line.at, x: line.text };
    if (line.executionId !== undefined) item.e = line.executionId;
    lines.push(item);
    this.pendingLines++;
    this.schedule(this.flushIntervalMs);
  }

  /** Sends what is pending (best effort) and stops. */
  async close(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.pendingLines > 0) await this.send();
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
    const ok = await this.send();
    this.sending = false;
    // Redis is away: try again a little later; the lines stay pending.
    if (this.pendingLines > 0) this.schedule(ok ? this.flushIntervalMs : 1_000);
  }

  /** Everything pending, an entry per release and `MAX_LINES_PER_ENTRY` lines; false if Redis refused (what it refused waits). */
  private async send(): Promise<boolean> {
    const batches = this.pending;
    this.pending = new Map();
    this.pendingLines = 0;
    const sends: Promise<unknown>[] = [];
    const entries: [key: string, lines: FunctionLogLine[]][] = [];
    for (const [key, lines] of batches) {
      const [appId, releaseId] = key.split(' ') as [string, string];
      for (let start = 0; start < lines.length; start += MAX_LINES_PER_ENTRY) {
        const chunk = lines.slice(start, start + MAX_LINES_PER_ENTRY);
        entries.push([key, chunk]);
        const { app, release, lines: field } = functionLogStreamFields;
        sends.push(
          this.options.redis.xadd(
            this.stream,
            'MAXLEN',
            '~',
            this.maxLength,
            '*',
            app,
            appId,
            release,
            releaseId,
            field,
            JSON.stringify(chunk),
          ),
        );
      }
    }
    const outcomes = await Promise.allSettled(sends);
    let refused = 0;
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') return;
      const [key, lines] = entries[i]!;
      // Back in front of what came meanwhile, within the bound.
      const waiting = this.pending.get(key) ?? [];
      const kept = lines.slice(0, Math.max(0, this.maxPending - this.pendingLines));
      this.pending.set(key, kept.concat(waiting));
      this.pendingLines += kept.length;
      this.droppedSince += lines.length - kept.length;
      this.options.metrics.functionLogLinesDropped.inc(lines.length - kept.length);
      refused++;
    });
    const now = Date.now();
    if ((refused > 0 || this.droppedSince > 0) && now - this.lastFailureLog > 10_000) {
      this.lastFailureLog = now;
      const error = outcomes.find((outcome) => outcome.status === 'rejected');
      this.options.logger.warn(
        { err: error?.status === 'rejected' ? error.reason : undefined, pending: this.pendingLines, dropped: this.droppedSince },
        'could not send function log lines; will retry',
      );
      this.droppedSince = 0;
    }
    return refused === 0;
  }
}
