import { ErrorCode } from '@ignite/contracts';
import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';
import { type InvocationDetailView, type InvocationView, invocationView } from '../common/views';
import { LogsService } from '../logs/logs.service';
import { InvocationsRepository } from './invocations.repository';

@Injectable()
export class InvocationsService {
  constructor(
    private readonly apps: AppsService,
    private readonly invocations: InvocationsRepository,
    private readonly logs: LogsService,
  ) {}

  async recent(caller: AuthContext, appName: string, limit: number): Promise<InvocationView[]> {
    const app = await this.apps.require(caller, appName);
    const rows = await this.invocations.recent(app.id, limit);
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
