import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { type InvocationView, invocationView } from '../common/views';
import { InvocationsRepository } from './invocations.repository';

@Injectable()
export class InvocationsService {
  constructor(
    private readonly apps: AppsService,
    private readonly invocations: InvocationsRepository,
  ) {}

  async recent(caller: AuthContext, appName: string, limit: number): Promise<InvocationView[]> {
    const app = await this.apps.require(caller, appName);
    const rows = await this.invocations.recent(app.id, limit);
    return rows.map((row) => invocationView(row, row.release?.number ?? null));
  }
}
