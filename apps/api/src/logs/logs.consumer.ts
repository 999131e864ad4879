import { channels, readFunctionLogStreamEntry } from '@ignite/contracts';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { RedisService } from '../infra/redis.service';
import { type StreamEntry, StreamGroupReader } from '../infra/stream-group-reader';
import { API_CONFIG } from '../infra/tokens';
import { type FunctionLogEntry, LogsRepository } from './logs.repository';

export const FUNCTION_LOGS_GROUP = 'api';

/**
 * Stores the functions' log lines the runners put on the function-logs stream (see
 * `StreamGroupReader`), then tells the followers of each app that got lines
 * (`functionLogsStored`, on every API replica).
 */
@Injectable()
export class LogsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly reader: StreamGroupReader;
  private readonly prefix: string;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    private readonly logs: LogsRepository,
    private readonly redis: RedisService,
    @InjectPinoLogger(LogsConsumer.name) private readonly logger: PinoLogger,
  ) {
    this.prefix = config.IGNITE_QUEUE_PREFIX;
    this.reader = new StreamGroupReader({
      redisUrl: config.REDIS_URL,
      key: channels.functionLogs(config.IGNITE_QUEUE_PREFIX),
      group: FUNCTION_LOGS_GROUP,
      connectionName: 'ignite-api-function-logs',
      what: 'function log lines',
      logger,
      // Each entry holds up to 5,000 lines.
      batch: 20,
      handle: (entries) => this.handle(entries),
    });
  }

  onApplicationBootstrap(): void {
    this.reader.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.reader.stop();
  }

  private async handle(entries: StreamEntry[]): Promise<void> {
    const chunks: FunctionLogEntry[] = [];
    for (const [id, fields] of entries) {
      if (!fields) continue; // Trimmed from the stream while pending.
      const read = readFunctionLogStreamEntry(fields);
      for (const issues of read.invalid) this.logger.warn({ entryId: id, issues: issues.slice(0, 5) }, 'invalid function log line dropped');
      const first = read.lines[0];
      if (first !== undefined) chunks.push({ entryId: id, appId: first.appId, releaseId: first.releaseId, lines: read.lines });
    }
    await this.logs.store(chunks);
    const apps = new Set(chunks.map((chunk) => chunk.appId));
    // A lost notice only delays a follower until its next poll.
    await Promise.allSettled([...apps].map((appId) => this.redis.publish(channels.functionLogsStored(this.prefix, appId), 1)));
  }
}
