import { ErrorCode } from '@ignite/contracts';
import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';
import { type InvocationDetailView, type InvocationView, invocationView } from '../common/views';
import { LogsService } from '../logs/logs.service';
import { InvocationsRepository, type StatusCodeRange } from './invocations.repository';

export const INVOCATION_STATUSES = ['ok', 'error', 'client'] as const;

/** What the list is asked for, as the query gives it. */
export interface RecentQuery {
  limit: number;
  status?: (typeof INVOCATION_STATUSES)[number] | undefined;
  release?: number | undefined;
  cold?: 'true' | 'false' | undefined;
  before?: string | undefined;
}

// As the figures count them (stats): 5xx failed, 4xx were the caller's, the rest answered.
const STATUS_CODES: Record<(typeof INVOCATION_STATUSES)[number], StatusCodeRange> = {
  ok: { below: 400 },
  error: { from: 500 },
  client: { from: 400, below: 500 },
};

@Injectable()
export class InvocationsService {
  constructor(
    private readonly apps: AppsService,
    private readonly invocations: InvocationsRepository,
    private readonly logs: LogsService,
  ) {}

  async recent(caller: AuthContext, appName: string, query: RecentQuery): Promise<InvocationView[]> {
    const app = await this.apps.require(caller, appName);
    const rows = await this.invocations.recent(app.id, query.limit, {
      statusCode: query.status === undefined ? undefined : STATUS_CODES[query.status],
      releaseNumber: query.release,
      cold: query.cold === undefined ? undefined : query.cold === 'true',
      before: query.before === undefined ? undefined : new Date(query.before),
    });
    return rows.map((row) => invocationView(row, row.release?.number ?? null));
  }

  /** An invocation with its log lines. Its record is written shortly after it answered: until then, 404. */
  async get(caller: AuthContext, appName: string, executionId: string): Promise<InvocationDetailView> {
    const app = await this.apps.require(caller, appName);
    const row = executionId.length <= 256 ? await this.invocations.find(app.id, executionId) : null;
    if (row === null) {
      throw new DomainError(
        ErrorCode.notFound,
        `invocation "${executionId}" of app "${appName}" not found (its record is written within about a second of its answer, and kept for the retention period)`,
      );
    }
    return { ...invocationView(row, row.release?.number ?? null), ...(await this.logs.ofInvocation(app.id, executionId)) };
  }
}
