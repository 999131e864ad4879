import { ErrorCode, type FunctionStats, type FunctionTimeline, type InvocationFigures, type TimelinePoint } from '@ignite/contracts';
import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service';
import type { AuthContext } from '../auth/auth-context';
import { DomainError } from '../common/domain-error';
import { durationMs } from '../logs/time-window';
import { type FiguresRow, StatsRepository, type TimelineRow } from './stats.repository';

const SECOND = 1_000;
const DAY = 86_400_000;
/** The steps a timeline picks from when none is asked for, shortest first. */
const ROUND_STEPS = ['1s', '5s', '10s', '15s', '30s', '1m', '2m', '5m', '10m', '15m', '30m', '1h', '2h', '3h', '6h', '12h', '1d'];
/** A chart reads well with about this many points: the most a chosen step gives. */
const DEFAULT_POINTS = 100;
/** The most points a timeline has (series × points rows come out of Postgres). */
export const MAX_POINTS = 1_500;
/** Ten years: longer than invocations are kept, and short enough that the window's start stays a date Postgres knows. */
const MAX_WINDOW_MS = 3_650 * DAY;

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

  /**
   * The app's invocations over the window in buckets of `step` (by default a round step giving
   * at most 100 buckets), for charts: all releases together, then each release invoked.
   */
  async timeline(caller: AuthContext, appName: string, window: string, step: string | undefined): Promise<FunctionTimeline> {
    const windowMs = durationMs(window) ?? 0;
    if (windowMs < SECOND) throw validation(`window ${window} is empty: ask for at least 1s (15m, 1h, 7d)`);
    if (windowMs > MAX_WINDOW_MS) throw validation(`window ${window} is longer than the longest timeline, 3650d: ask for a shorter one`);
    const chosen = step ?? roundStep(windowMs, DEFAULT_POINTS);
    const stepMs = durationMs(chosen) ?? 0;
    if (stepMs < SECOND) throw validation(`step ${chosen} is shorter than 1s: ask for 1s or more (or leave step out for a round one)`);
    if (stepMs > windowMs) throw validation(`step ${chosen} is longer than the window ${window}: ask for a step of at most ${window}`);
    const buckets = Math.ceil(windowMs / stepMs);
    if (buckets > MAX_POINTS) {
      const longer = roundStep(windowMs, MAX_POINTS);
      throw validation(
        `window ${window} in steps of ${chosen} is ${buckets} points, more than the ${MAX_POINTS} a timeline has at most: ask for a longer step (${longer} gives ${Math.ceil(windowMs / (durationMs(longer) ?? 1))}), a shorter window, or leave step out for a round one`,
      );
    }
    const app = await this.apps.require(caller, appName);
    const until = new Date();
    const since = new Date(until.getTime() - windowMs);
    const rows = await this.stats.timeline(app.id, since, until, stepMs / SECOND, buckets);
    const series = new Map<string, { releaseNumber: number | null; rows: TimelineRow[] }>();
    for (const row of rows) {
      const key = row.total ? 'all' : String(row.releaseNumber);
      const entry = series.get(key) ?? { releaseNumber: row.total ? null : row.releaseNumber, rows: [] };
      entry.rows.push(row);
      series.set(key, entry);
    }
    return {
      window,
      step: chosen,
      stepSeconds: stepMs / SECOND,
      since: since.toISOString(),
      until: until.toISOString(),
      series: [...series.values()].map((entry) => ({ releaseNumber: entry.releaseNumber, points: pointsOf(entry.rows, since, stepMs) })),
    };
  }
}

/** The shortest round step giving at most `points` buckets over the window (whole days past the last round step). */
function roundStep(windowMs: number, points: number): string {
  const step = ROUND_STEPS.find((candidate) => Math.ceil(windowMs / (durationMs(candidate) ?? 0)) <= points);
  return step ?? `${Math.ceil(windowMs / (points * DAY))}d`;
}

function validation(message: string): DomainError {
  return new DomainError(ErrorCode.validation, message);
}

function pointsOf(rows: TimelineRow[], since: Date, stepMs: number): TimelinePoint[] {
  const round = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);
  return rows.map((row) => ({
    at: new Date(since.getTime() + row.bucket * stepMs).toISOString(),
    invocations: row.invocations,
    errors: row.errors,
    errorRate: row.invocations === 0 ? 0 : row.errors / row.invocations,
    coldStarts: row.cold,
    coldStartRatio: row.invocations === 0 ? 0 : row.cold / row.invocations,
    durationMs: { p50: round(row.p50), p99: round(row.p99) },
  }));
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
