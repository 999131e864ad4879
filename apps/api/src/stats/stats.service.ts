import type { FunctionStats, InvocationFigures } from '@ignite/contracts';
import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { durationMs } from '../logs/time-window';
import { type FiguresRow, StatsRepository } from './stats.repository';

/** Per-function figures from the invocation records: what `ignite app stats` shows. */
@Injectable()
export class StatsService {
  constructor(
    private readonly apps: AppsService,
    private readonly stats: StatsRepository,
  ) {}

  async of(caller: AuthContext, appName: string, window: string): Promise<FunctionStats> {
    const app = await this.apps.require(caller, appName);
    const until = new Date();
    const since = new Date(until.getTime() - (durationMs(window) ?? 0));
    const rows = await this.stats.figures(app.id, since);
    const total = rows.find((row) => row.total);
    return {
      window,
      since: since.toISOString(),
      until: until.toISOString(),
      ...figuresOf(total),
      releases: rows.filter((row) => !row.total).map((row) => ({ releaseNumber: row.releaseNumber, ...figuresOf(row) })),
    };
  }
}

function figuresOf(row: FiguresRow | undefined): InvocationFigures {
  const invocations = row?.invocations ?? 0;
  const byKind = {
    handler: row?.handler ?? 0,
    panic: row?.panic ?? 0,
    timeout: row?.timeout ?? 0,
    memory: row?.memory ?? 0,
    crash: row?.crash ?? 0,
    platform: row?.platform ?? 0,
  };
  const errors = Object.values(byKind).reduce((sum, count) => sum + count, 0);
  const round = (value: number | null | undefined) => (value === null || value === undefined ? null : Math.round(value * 1000) / 1000);
  return {
    invocations,
    errors,
    errorRate: invocations === 0 ? 0 : errors / invocations,
    errorsByKind: byKind,
    clientErrors: row?.client ?? 0,
    coldStarts: row?.cold ?? 0,
    coldStartRatio: invocations === 0 ? 0 : (row?.cold ?? 0) / invocations,
    durationMs: { p50: round(row?.p50), p90: round(row?.p90), p99: round(row?.p99) },
  };
}
