import type { PassThrough } from 'node:stream';
import type { PinoLogger } from 'nestjs-pino';
import { logLineView } from './log-views';
import type { LogFilter, LogsRepository } from './logs.repository';

const PAGE = 1_000;
/** A comment line this often keeps proxies and clients from taking a quiet follow for a dead one. */
const HEARTBEAT_MS = 15_000;

/**
 * One follower of an app's log, as Server-Sent Events: each line an `event: line` with its id
 * (a client that reconnects with Last-Event-ID misses nothing) and its JSON view as data. It
 * reads the lines after the last one it sent whenever it is kicked (the API stored lines of the
 * app: `functionLogsStored`) and at least every `pollMs`, so a missed notice delays a line, never
 * loses it.
 */
export class LogFollower {
  unsubscribe: (() => Promise<void>) | undefined;
  private busy = false;
  private again = false;
  private stopped = false;
  private timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly logs: LogsRepository,
    private readonly out: PassThrough,
    private readonly filter: LogFilter & { afterId: bigint },
    private readonly logger: PinoLogger,
  ) {}

  start(pollMs: number): void {
    this.out.once('close', () => this.stop());
    this.timers.push(setInterval(() => this.kick(), pollMs));
    this.timers.push(setInterval(() => void this.write(': keep-alive\n\n'), HEARTBEAT_MS));
    // The first bytes: headers and a retry hint go out at once, before any line.
    void this.write('retry: 1000\n\n');
    this.kick();
  }

  /** Lines may have been stored: read (once more, if a read is under way). */
  kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.run();
  }

  /** Ends the response where it is (on shutdown: clients reconnect, with Last-Event-ID). */
  end(): void {
    this.stop();
    if (!this.out.destroyed) this.out.end();
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.sendNewLines();
      } while (this.again && !this.stopped);
    } catch (error) {
      // Postgres away for a moment: the next kick or poll tries again.
      this.logger.warn({ appId: this.filter.appId, err: error }, 'function log follower could not read; retrying');
    } finally {
      this.busy = false;
    }
  }

  private async sendNewLines(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const lines = await this.logs.find(this.filter, PAGE, 'asc');
      if (lines.length === 0) return;
      this.filter.afterId = lines[lines.length - 1]!.id;
      await this.write(lines.map((line) => `event: line\nid: ${line.id}\ndata: ${JSON.stringify(logLineView(line))}\n\n`).join(''));
      if (lines.length < PAGE) return;
    }
  }

  private async write(chunk: string): Promise<void> {
    if (this.stopped || this.out.destroyed) return;
    if (this.out.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.on('drain', done);
      this.out.on('close', done);
    });
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const timer of this.timers) clearInterval(timer);
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    unsubscribe?.().catch((error: unknown) => this.logger.warn({ appId: this.filter.appId, err: error }, 'unsubscribe failed'));
  }
}
