import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createRedis } from '@ignite/service-kit';
import type { Redis } from 'ioredis';
import type { PinoLogger } from 'nestjs-pino';
import { closeRedis } from './redis-close';

/** An entry as XREADGROUP returns it; null fields: trimmed from the stream while pending. */
export type StreamEntry = [id: string, fields: string[] | null];

export interface StreamGroupReaderOptions {
  redisUrl: string;
  key: string;
  group: string;
  /** The Redis connection's name (CLIENT LIST). */
  connectionName: string;
  /** What the stream carries, for log messages ("invocation reports"). */
  what: string;
  logger: PinoLogger;
  /** Stores a batch of entries; once it resolves they are acknowledged. It may throw: they are read again. */
  handle: (entries: StreamEntry[]) => Promise<void>;
  /** Entries read at once. */
  batch?: number;
}

const BLOCK_MS = 1_000;
/** Entries another API replica read but never acknowledged (it died) are taken over after this long. */
const CLAIM_IDLE_MS = 30_000;
const CLAIM_EVERY_MS = 15_000;
const RETRY_MS = 1_000;

/**
 * Reads a stream the runners append to, as a consumer group (so that API replicas share the
 * work): hands each batch to `handle`, then acknowledges it. What this replica read but could not
 * handle stays pending and is read again; what a dead replica left pending is claimed after a
 * while; a group Redis lost (restarted without its data, a failover) is made again at once.
 */
export class StreamGroupReader {
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private connection: Redis | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;
  private readonly batch: number;

  constructor(private readonly options: StreamGroupReaderOptions) {
    this.batch = options.batch ?? 50;
  }

  start(): void {
    // A connection of its own: XREADGROUP BLOCK holds it. No offline queue and no resending:
    // while Redis is away, commands fail at once (the loop retries), so nothing waits forever
    // and a shutdown never hangs on a lost connection.
    this.connection = createRedis(this.options.redisUrl, {
      connectionName: this.options.connectionName,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
    });
    this.connection.on('error', (error: Error) =>
      this.options.logger.warn({ err: error.message, stream: this.options.key }, 'stream connection error'),
    );
    this.loop = this.run(this.connection);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    // A read in progress returns within BLOCK_MS; one stuck on an unreachable Redis is cut.
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      this.loop?.then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), BLOCK_MS + 1_000);
      }),
    ]);
    clearTimeout(timer);
    if (!settled) this.connection?.disconnect();
    await this.loop;
    if (this.connection) await closeRedis(this.connection);
  }

  private async run(redis: Redis): Promise<void> {
    const { key, what, logger } = this.options;
    let readPending = true;
    let groupReady = false;
    let lastClaim = 0;
    while (!this.stopping) {
      if (redis.status !== 'ready') {
        await sleep(100);
        continue;
      }
      try {
        if (!groupReady) {
          await this.ensureGroup(redis);
          groupReady = true;
        }
        if (Date.now() - lastClaim >= CLAIM_EVERY_MS) {
          lastClaim = Date.now();
          await this.claimAbandoned(redis);
        }
        // First what this consumer read and did not acknowledge (after a failure), then new entries.
        const entries = await this.read(redis, readPending ? '0' : '>');
        if (readPending && entries.length === 0) {
          readPending = false;
          continue;
        }
        await this.handle(redis, entries);
      } catch (error) {
        if (this.stopping) break;
        if (error instanceof Error && error.message.startsWith('NOGROUP')) {
          // Made again at once, from the stream's start, so what runners add from now on is read.
          logger.warn({ stream: key }, 'consumer group missing; creating it again');
          groupReady = false;
          readPending = true;
          continue;
        }
        logger.warn({ err: error, stream: key }, `${what} not stored; retrying`);
        readPending = true;
        await sleep(RETRY_MS);
      }
    }
  }

  private async ensureGroup(redis: Redis): Promise<void> {
    try {
      await redis.call('XGROUP', 'CREATE', this.options.key, this.options.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  private async read(redis: Redis, from: '0' | '>'): Promise<StreamEntry[]> {
    const args = ['GROUP', this.options.group, this.consumer, 'COUNT', String(this.batch)];
    if (from === '>') args.push('BLOCK', String(BLOCK_MS));
    const reply = await redis.call('XREADGROUP', ...args, 'STREAMS', this.options.key, from);
    if (!Array.isArray(reply)) return [];
    const stream = reply[0] as [string, StreamEntry[]] | undefined;
    return stream?.[1] ?? [];
  }

  private async claimAbandoned(redis: Redis): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < 10; round += 1) {
      const reply = (await redis.call(
        'XAUTOCLAIM',
        this.options.key,
        this.options.group,
        this.consumer,
        String(CLAIM_IDLE_MS),
        cursor,
        'COUNT',
        String(this.batch),
      )) as [string, StreamEntry[], ...unknown[]];
      const [next, entries] = reply;
      if (entries.length > 0) {
        this.options.logger.info({ entries: entries.length, stream: this.options.key }, 'stream entries claimed from another consumer');
        await this.handle(redis, entries);
      }
      if (next === '0-0') return;
      cursor = next;
    }
  }

  private async handle(redis: Redis, entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.options.handle(entries);
    await redis.call('XACK', this.options.key, this.options.group, ...entries.map(([id]) => id));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
