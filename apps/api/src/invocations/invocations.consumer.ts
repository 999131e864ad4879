import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { channels, type InvocationReport, readInvocationStreamEntry } from '@ignite/contracts';
import { createRedis } from '@ignite/service-kit';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { MetricsService } from '../infra/metrics.service';
import { closeRedis } from '../infra/redis-close';
import { API_CONFIG } from '../infra/tokens';
import { InvocationsRepository } from './invocations.repository';

export const INVOCATIONS_GROUP = 'api';
/** Stream entries read at once: each holds up to 8192 reports (a program's batch of direct invocations). */
const BATCH = 50;
/** Reports written to Postgres in one statement at most (a backlog read at once would be millions). */
const RECORD_CHUNK = 10_000;
const BLOCK_MS = 1_000;
/** Entries another API replica read but never acknowledged (it died) are taken over after this long. */
const CLAIM_IDLE_MS = 30_000;
const CLAIM_EVERY_MS = 15_000;
const RETRY_MS = 1_000;

type StreamEntry = [id: string, fields: string[] | null];

/**
 * Records the runners' invocation reports: reads the invocations stream as consumer group `api`
 * (so replicas share the work), inserts each batch at once (a report seen twice is recorded
 * once), then acknowledges it. What this replica read but could not record stays pending and is
 * read again; what a dead replica left pending is claimed after a while.
 */
@Injectable()
export class InvocationsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly key: string;
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private connection: Redis | undefined;
  private loop: Promise<void> | undefined;
  private stopping = false;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly invocations: InvocationsRepository,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(InvocationsConsumer.name) private readonly logger: PinoLogger,
  ) {
    this.key = channels.invocations(config.IGNITE_QUEUE_PREFIX);
  }

  onApplicationBootstrap(): void {
    // A connection of its own: XREADGROUP BLOCK holds it.
    // No offline queue and no resending: while Redis is away, commands fail at once (the loop
    // retries), so nothing waits forever and a shutdown never hangs on a lost connection.
    this.connection = createRedis(this.config.REDIS_URL, {
      connectionName: 'ignite-api-invocations',
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
    });
    this.connection.on('error', (error: Error) => this.logger.warn({ err: error.message }, 'invocations stream connection error'));
    this.loop = this.run(this.connection);
  }

  async beforeApplicationShutdown(): Promise<void> {
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
          // Redis lost the stream and its group (restarted without its data, a failover): made
          // again at once, from the stream's start, so what runners add from now on is recorded.
          this.logger.warn({ stream: this.key }, 'invocations consumer group missing; creating it again');
          groupReady = false;
          readPending = true;
          continue;
        }
        this.logger.warn({ err: error }, 'invocation reports not recorded; retrying');
        readPending = true;
        await sleep(RETRY_MS);
      }
    }
  }

  private async ensureGroup(redis: Redis): Promise<void> {
    try {
      await redis.call('XGROUP', 'CREATE', this.key, INVOCATIONS_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  private async read(redis: Redis, from: '0' | '>'): Promise<StreamEntry[]> {
    const args = ['GROUP', INVOCATIONS_GROUP, this.consumer, 'COUNT', String(BATCH)];
    if (from === '>') args.push('BLOCK', String(BLOCK_MS));
    const reply = await redis.call('XREADGROUP', ...args, 'STREAMS', this.key, from);
    if (!Array.isArray(reply)) return [];
    const stream = reply[0] as [string, StreamEntry[]] | undefined;
    return stream?.[1] ?? [];
  }

  private async claimAbandoned(redis: Redis): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < 10; round += 1) {
      const reply = (await redis.call(
        'XAUTOCLAIM',
        this.key,
        INVOCATIONS_GROUP,
        this.consumer,
        String(CLAIM_IDLE_MS),
        cursor,
        'COUNT',
        String(BATCH),
      )) as [string, StreamEntry[], ...unknown[]];
      const [next, entries] = reply;
      if (entries.length > 0) {
        this.logger.info({ entries: entries.length }, 'invocation reports claimed from another consumer');
        await this.handle(redis, entries);
      }
      if (next === '0-0') return;
      cursor = next;
    }
  }

  private async handle(redis: Redis, entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    let reports: InvocationReport[] = [];
    const record = async () => {
      this.metrics.invocationsRecorded.inc(await this.invocations.record(reports));
      reports = [];
    };
    for (const [id, fields] of entries) {
      for (const report of this.parse(id, fields)) reports.push(report);
      if (reports.length >= RECORD_CHUNK) await record();
      // An entry holds up to 8192 reports: the API's requests get their turn between two.
      else await new Promise((resolve) => setImmediate(resolve));
    }
    await record();
    await redis.call('XACK', this.key, INVOCATIONS_GROUP, ...entries.map(([id]) => id));
  }

  /** The entry's reports; what is not a report is logged and dropped (and acknowledged with the rest). */
  private parse(id: string, fields: string[] | null): InvocationReport[] {
    if (!fields) return []; // Trimmed from the stream while pending.
    const { reports, invalid } = readInvocationStreamEntry(fields);
    for (const issues of invalid) this.logger.warn({ entryId: id, issues: issues.slice(0, 5) }, 'invalid invocation report dropped');
    return reports;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
