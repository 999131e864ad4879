import { PassThrough, type Readable } from 'node:stream';
import { channels, type FunctionLogLineView, type FunctionLogPage } from '@ignite/contracts';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import type { ApiConfig } from '../config';
import { RedisService } from '../infra/redis.service';
import { API_CONFIG } from '../infra/tokens';
import { LogFollower } from './log-follower';
import { logLineView } from './log-views';
import type { FollowLogsQueryDto, LogsQueryDto } from './logs.dto';
import { type LogFilter, LogsRepository } from './logs.repository';
import { pointInTime } from './time-window';

/** A follower re-reads at least this often (a missed notice, Redis away). */
const FOLLOW_POLL_MS = 1_000;
/** Most lines an invocation's answer carries. */
const INVOCATION_LINES = 1_000;

/**
 * Functions' logs for their owners: pages of lines (filtered, with a cursor), live follows, and
 * an invocation's own lines. Every read is of an app of the caller's org (`AppsService.require`).
 */
@Injectable()
export class LogsService implements BeforeApplicationShutdown {
  private readonly followers = new Set<LogFollower>();

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly apps: AppsService,
    private readonly logs: LogsRepository,
    private readonly redis: RedisService,
    @InjectPinoLogger(LogsService.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * With `cursor`: the lines after it. Else with `since`: the first lines from then. Else: the most
   * recent lines. Oldest first in every case.
   */
  async page(caller: AuthContext, appName: string, query: LogsQueryDto): Promise<FunctionLogPage> {
    const app = await this.apps.require(caller, appName);
    const filter = filterOf(app.id, query);
    const fromStart = query.cursor !== undefined || query.since !== undefined;
    const rows = await this.logs.find(filter, query.limit + 1, fromStart ? 'asc' : 'desc');
    // One more than asked says whether there is more (after the page, or before the tail).
    const more = rows.length > query.limit;
    const lines = more ? (fromStart ? rows.slice(0, query.limit) : rows.slice(1)) : rows;
    const last = lines.at(-1);
    return {
      lines: lines.map(logLineView),
      cursor: last !== undefined ? last.id.toString() : (query.cursor ?? null),
      more: fromStart && more,
    };
  }

  /** The log as Server-Sent Events from `cursor` (or Last-Event-ID; else from now on), until the client goes away. */
  async follow(caller: AuthContext, appName: string, query: FollowLogsQueryDto, lastEventId: string | undefined): Promise<Readable> {
    const app = await this.apps.require(caller, appName);
    const from = query.cursor ?? (lastEventId !== undefined && /^\d{1,19}$/.test(lastEventId) ? lastEventId : undefined);
    const afterId = from !== undefined ? BigInt(from) : await this.logs.lastId(app.id);
    const out = new PassThrough();
    const follower = new LogFollower(this.logs, out, { ...filterOf(app.id, query), afterId }, this.logger);
    this.followers.add(follower);
    out.once('close', () => this.followers.delete(follower));
    try {
      follower.unsubscribe = await this.redis.subscribe(channels.functionLogsStored(this.config.IGNITE_QUEUE_PREFIX, app.id), () =>
        follower.kick(),
      );
    } catch (error) {
      this.logger.warn({ appId: app.id, err: error }, 'function log notices unavailable; following by polling');
    }
    follower.start(FOLLOW_POLL_MS);
    return out;
  }

  /** An invocation's lines (the app is the caller's: checked by whoever asks). */
  async ofInvocation(appId: string, executionId: string): Promise<{ logs: FunctionLogLineView[]; logsTruncated: boolean }> {
    const rows = await this.logs.find({ appId, executionId }, INVOCATION_LINES + 1, 'asc');
    return { logs: rows.slice(0, INVOCATION_LINES).map(logLineView), logsTruncated: rows.length > INVOCATION_LINES };
  }

  /** On shutdown, followers end their responses (clients reconnect elsewhere) so the server can close. */
  beforeApplicationShutdown(): void {
    for (const follower of this.followers) follower.end();
    this.followers.clear();
  }
}

function filterOf(appId: string, query: FollowLogsQueryDto | LogsQueryDto): LogFilter {
  const filter: LogFilter = { appId };
  if ('cursor' in query && query.cursor !== undefined) filter.afterId = BigInt(query.cursor);
  if (query.since !== undefined) filter.since = pointInTime(query.since);
  if (query.until !== undefined) filter.until = pointInTime(query.until);
  if (query.execution !== undefined) filter.executionId = query.execution;
  if (query.release !== undefined) filter.releaseNumber = query.release;
  if (query.contains !== undefined) filter.contains = query.contains;
  return filter;
}
