import { channels, type InvocationReport, readInvocationStreamEntry } from '@ignite/contracts';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { MetricsService } from '../infra/metrics.service';
import { type StreamEntry, StreamGroupReader } from '../infra/stream-group-reader';
import { API_CONFIG } from '../infra/tokens';
import { InvocationsRepository } from './invocations.repository';

export const INVOCATIONS_GROUP = 'api';
/** Reports written to Postgres in one statement at most (a backlog read at once would be millions). */
const RECORD_CHUNK = 10_000;

/**
 * Records the runners' invocation reports from the invocations stream (see `StreamGroupReader`):
 * each batch inserted at once (a report seen twice is recorded once), then acknowledged.
 */
@Injectable()
export class InvocationsConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly reader: StreamGroupReader;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    private readonly invocations: InvocationsRepository,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(InvocationsConsumer.name) private readonly logger: PinoLogger,
  ) {
    this.reader = new StreamGroupReader({
      redisUrl: config.REDIS_URL,
      key: channels.invocations(config.IGNITE_QUEUE_PREFIX),
      group: INVOCATIONS_GROUP,
      connectionName: 'ignite-api-invocations',
      what: 'invocation reports',
      logger,
      // Each entry holds up to 8192 reports (a program's batch of direct invocations).
      batch: 50,
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
  }

  /** The entry's reports; what is not a report is logged and dropped (and acknowledged with the rest). */
  private parse(id: string, fields: string[] | null): InvocationReport[] {
    if (!fields) return []; // Trimmed from the stream while pending.
    const { reports, invalid } = readInvocationStreamEntry(fields);
    for (const issues of invalid) this.logger.warn({ entryId: id, issues: issues.slice(0, 5) }, 'invalid invocation report dropped');
    return reports;
  }
}
