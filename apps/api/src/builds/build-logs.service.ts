import { PassThrough, type Readable } from 'node:stream';
import { channels } from '@ignite/contracts';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { RedisService } from '../infra/redis.service';
import { API_CONFIG } from '../infra/tokens';
import { BuildsRepository, isTerminal } from './builds.repository';

const PAGE = 1_000;
/** The fallback when an event is missed (or Redis is down): a follower re-reads at least this often. */
const POLL_MS = 2_000;

/**
 * A build's log as text, one line per row in seq order. Following, it waits for more: every
 * event the worker publishes on the build's channel (and a slow poll) makes it read the rows
 * after the last seq it sent, so no line is lost or sent twice; it ends once the build is in a
 * terminal status and every line is out.
 */
@Injectable()
export class BuildLogsService implements BeforeApplicationShutdown {
  private readonly followers = new Set<LogFollower>();

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly builds: BuildsRepository,
    private readonly redis: RedisService,
    @InjectPinoLogger(BuildLogsService.name) private readonly logger: PinoLogger,
  ) {}

  /** The log as a stream; destroying it (the client went away) stops the follower. */
  async open(buildId: string, follow: boolean): Promise<Readable> {
    const out = new PassThrough();
    const follower = new LogFollower(this.builds, out, buildId, follow, this.logger);
    this.followers.add(follower);
    out.once('close', () => this.followers.delete(follower));
    if (follow) {
      try {
        follower.unsubscribe = await this.redis.subscribe(channels.buildEvents(this.config.IGNITE_QUEUE_PREFIX, buildId), () =>
          follower.kick(),
        );
      } catch (error) {
        this.logger.warn({ buildId, err: error }, 'build events unavailable; following by polling');
      }
    }
    follower.start(follow ? POLL_MS : undefined);
    return out;
  }

  /** On shutdown, followers end their responses (clients reconnect elsewhere) so the server can close. */
  beforeApplicationShutdown(): void {
    for (const follower of this.followers) follower.end();
    this.followers.clear();
  }
}

class LogFollower {
  unsubscribe: (() => Promise<void>) | undefined;
  /** The seq of the last line sent (seq is a Postgres int; every real one is greater). */
  private lastSeq = -2_147_483_648;
  private busy = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly builds: BuildsRepository,
    private readonly out: PassThrough,
    private readonly buildId: string,
    private readonly follow: boolean,
    private readonly logger: PinoLogger,
  ) {}

  start(pollMs: number | undefined): void {
    this.out.once('close', () => this.stop());
    if (pollMs !== undefined) this.timer = setInterval(() => this.kick(), pollMs);
    this.kick();
  }

  /** Something may have changed: read (once more, if a read is under way). */
  kick(): void {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.pass();
      } while (this.again && !this.stopped);
    } catch (error) {
      this.logger.error({ buildId: this.buildId, err: error }, 'build log stream failed');
      this.stop();
      this.out.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.busy = false;
    }
  }

  private async pass(): Promise<void> {
    await this.sendNewLines();
    if (this.stopped) return;
    if (!this.follow) return this.finish();
    const status = await this.builds.status(this.buildId);
    if (status === undefined || isTerminal(status)) {
      // The worker writes every line before the terminal status: one last read gets them all.
      await this.sendNewLines();
      this.finish();
    }
  }

  private async sendNewLines(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const lines = await this.builds.logLinesAfter(this.buildId, this.lastSeq, PAGE);
      if (lines.length === 0) return;
      this.lastSeq = lines[lines.length - 1]!.seq;
      await this.write(`${lines.map((line) => line.text).join('\n')}\n`);
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

  private finish(): void {
    if (this.stopped) return;
    this.stop();
    this.out.end();
  }

  /** Ends the response where it is (what was sent stays sent). */
  end(): void {
    this.stop();
    if (!this.out.destroyed) this.out.end();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.timer);
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = undefined;
    if (unsubscribe) {
      unsubscribe().catch((error: unknown) => this.logger.warn({ buildId: this.buildId, err: error }, 'unsubscribe failed'));
    }
  }
}
