import { channels, type InvocationReport, invocationStreamFields } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { Redis } from 'ioredis';
import type { Metrics } from './metrics';

export interface ReporterOptions {
  /** A connection without an offline queue: commands fail at once while Redis is away. */
  redis: Redis;
  prefix: string;
  logger: Logger;
  metrics: Metrics;
  /** Reports are sent at most this long after the invocation. */
  flushIntervalMs?: number;
  /** Most reports in one stream entry of the runner's own reports. */
  batchSize?: number;
  /** Most reports held while Redis is unreachable; the oldest are dropped beyond it. */
  maxPending?: number;
  /** Approximate length the stream is trimmed to, in entries (each a batch: up to 1,000 reports). */
  streamMaxLength?: number;
  /** Entries sent this recently are sent again when Redis comes back after losing its connection (it may have lost them). */
  resendWindowMs?: number;
}

/** One stream entry to be: the runner's own reports, or a program's batch of direct ones (its `reports` line, as bytes). */
type Entry =
  | { field: 'reports'; reports: InvocationReport[] }
  | { field: 'direct'; appId: string; releaseId: string; report: Buffer; count: number };

/** Most entries sent at once. */
const ENTRIES_PER_SEND = 32;

const sizeOf = (entry: Entry) => (entry.field === 'reports' ? entry.reports.length : entry.count);
/** Most reports kept for sending again after a reconnect. */
const MAX_RECENT_REPORTS = 200_000;

/**
 * Appends the invocation reports to the `channels.invocations(prefix)` stream, off the response
 * path, a batch per entry (see `invocationStreamFields`: one entry per invocation cost Redis more
 * CPU than the function at tens of thousands a second): the runner's own reports gathered as
 * they come, a program's direct reports as it sent them. While Redis is away they are held
 * (bounded) and retried; an outage never fails or slows an invocation. What was sent in the last
 * `resendWindowMs` is sent again once Redis is back after a lost connection: a Redis restarted
 * without its data (or failed over) lost what the API had not read yet, and the API records a
 * report once however often it comes.
 */
export class InvocationReporter {
  /** Serialized only when sent: never on the response path. */
  private pending: Entry[] = [];
  private pendingReports = 0;
  private timer: NodeJS.Timeout | null = null;
  private sending = false;
  private closed = false;
  private lastFailureLog = 0;
  private readonly stream: string;
  private readonly flushIntervalMs: number;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly maxLength: string;
  private readonly resendWindowMs: number;
  /** What was sent lately, oldest first, with when. */
  private recent: { sentAt: number; entry: Entry }[] = [];
  private recentReports = 0;

  constructor(private readonly options: ReporterOptions) {
    this.resendWindowMs = options.resendWindowMs ?? 10_000;
    let connectedBefore = options.redis.status === 'ready';
    options.redis.on('ready', () => {
      if (connectedBefore) this.resendRecent();
      connectedBefore = true;
    });
    this.stream = channels.invocations(options.prefix);
    this.flushIntervalMs = options.flushIntervalMs ?? 20;
    this.batchSize = options.batchSize ?? 1_000;
    this.maxPending = options.maxPending ?? 100_000;
    // While the API is away: a few hundred thousand reports (tens of MB), not without bound.
    this.maxLength = String(options.streamMaxLength ?? 2_000);
  }

  /** One invocation the runner served. */
  report(report: InvocationReport): void {
    let last = this.pending.at(-1);
    if (last?.field !== 'reports' || last.reports.length >= this.batchSize) {
      last = { field: 'reports', reports: [] };
      this.pending.push(last);
    }
    last.reports.push(report);
    this.added(1);
  }

  /**
   * `count` invocations a program served on direct connections: `report` is its `reports` message
   * as it wrote it, recorded with its app and release without being rewritten.
   */
  reportDirect(appId: string, releaseId: string, report: Buffer, count: number): void {
    if (count === 0) return;
    this.pending.push({ field: 'direct', appId, releaseId, report, count });
    this.added(count);
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

  private added(count: number): void {
    this.pendingReports += count;
    this.trim();
    this.schedule(this.flushIntervalMs);
  }

  /** Beyond `maxPending` reports, the oldest entries go (counted as dropped). */
  private trim(): void {
    while (this.pendingReports > this.maxPending && this.pending.length > 1) {
      const dropped = sizeOf(this.pending.shift()!);
      this.pendingReports -= dropped;
      this.options.metrics.reportsDropped.inc(dropped);
    }
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

  /**
   * Up to `ENTRIES_PER_SEND` entries, each its own command, sent together; false if Redis refused
   * any (those go back to the front of the queue, the others are stored). Not a pipeline: ioredis
   * copies a pipeline's commands into one more buffer, and a program's batch is hundreds of KB —
   * the runner's garbage collector ran in proportion to the bytes it copied.
   */
  private async send(): Promise<boolean> {
    const entries = this.pending.splice(0, ENTRIES_PER_SEND);
    this.pendingReports -= entries.reduce((sum, entry) => sum + sizeOf(entry), 0);
    const outcomes = await Promise.allSettled(entries.map((entry) => this.append(entry)));
    const refused = entries.filter((_, i) => outcomes[i]!.status === 'rejected');
    this.remember(entries.filter((_, i) => outcomes[i]!.status === 'fulfilled'));
    if (refused.length === 0) return true;
    this.pending = refused.concat(this.pending);
    this.pendingReports += refused.reduce((sum, entry) => sum + sizeOf(entry), 0);
    const now = Date.now();
    if (now - this.lastFailureLog > 10_000) {
      this.lastFailureLog = now;
      const error = outcomes.find((outcome) => outcome.status === 'rejected')?.reason;
      this.options.logger.warn({ err: error, pending: this.pendingReports }, 'could not send invocation reports; will retry');
    }
    this.trim();
    return false;
  }

  private remember(sent: Entry[]): void {
    const now = Date.now();
    for (const entry of sent) {
      this.recent.push({ sentAt: now, entry });
      this.recentReports += sizeOf(entry);
    }
    while (this.recent.length > 0 && (this.recentReports > MAX_RECENT_REPORTS || now - this.recent[0]!.sentAt > this.resendWindowMs)) {
      this.recentReports -= sizeOf(this.recent.shift()!.entry);
    }
  }

  /** Redis is back after a lost connection: what it may have lost goes again, ahead of what waits. */
  private resendRecent(): void {
    const cutoff = Date.now() - this.resendWindowMs;
    const again = this.recent.filter((sent) => sent.sentAt >= cutoff).map((sent) => sent.entry);
    this.recent = [];
    this.recentReports = 0;
    if (again.length === 0 || this.closed) return;
    const reports = again.reduce((sum, entry) => sum + sizeOf(entry), 0);
    this.options.logger.info({ reports }, 'invocation reports sent lately are sent again after Redis reconnected');
    this.pending = again.concat(this.pending);
    this.pendingReports += reports;
    this.trim();
    this.schedule(0);
  }

  /** One stream entry (trimmed to about `maxLength` entries). */
  private append(entry: Entry): Promise<unknown> {
    const { redis } = this.options;
    if (entry.field === 'reports') {
      return redis.xadd(this.stream, 'MAXLEN', '~', this.maxLength, '*', invocationStreamFields.batch, JSON.stringify(entry.reports));
    }
    const { direct, app, release } = invocationStreamFields;
    return redis.xadd(this.stream, 'MAXLEN', '~', this.maxLength, '*', direct, entry.report, app, entry.appId, release, entry.releaseId);
  }
}
