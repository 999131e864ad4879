import { ErrorCode, invokeErrors } from '@ignite/contracts';
import { InvocationError } from '../errors';
import type { ResolvedFunction } from '../release-resolver';

/** The runner's limits (0: none). An app's own `rateLimitPerSecond` and `concurrencyLimit` replace the app ones. */
export interface LimitSettings {
  appRatePerSecond: number;
  appConcurrency: number;
  orgRatePerSecond: number;
  orgConcurrency: number;
}

/**
 * One admitted invocation, or one handed-over connection: it holds a unit of its app's and its
 * org's concurrency until `release`, and took `budget` invocations from their rate buckets
 * (undefined: neither is rate limited, nothing is counted per invocation).
 */
export interface Admission {
  readonly budget: number | undefined;
  /** Done: `served` of the budget were used, the rest goes back to the buckets. Idempotent. */
  release(served: number): void;
}

/** A connection's budget covers about this share of a second of its limit (what it does not use is given back). */
const BUDGET_SECONDS = 0.1;
const MAX_BUDGET = 1_000;
/** Idle counters (nothing in flight, bucket full) are dropped this often. */
const SWEEP_MS = 30_000;

/** A token bucket: `perSecond` tokens a second, at most a second's worth held. */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private perSecond: number,
    now: number,
  ) {
    this.tokens = perSecond;
    this.at = now;
  }

  /** Takes up to `wanted` whole tokens; returns how many it took. */
  take(wanted: number, now: number, perSecond: number): number {
    this.refill(now, perSecond);
    const taken = Math.min(wanted, Math.floor(this.tokens));
    this.tokens -= taken;
    return taken;
  }

  give(count: number): void {
    this.tokens = Math.min(this.perSecond, this.tokens + count);
  }

  /** Whole seconds until a token is there (at least 1). */
  retryAfter(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.perSecond));
  }

  full(now: number): boolean {
    this.refill(now, this.perSecond);
    return this.tokens >= this.perSecond;
  }

  private refill(now: number, perSecond: number): void {
    this.perSecond = perSecond;
    this.tokens = Math.min(perSecond, this.tokens + ((now - this.at) / 1000) * perSecond);
    this.at = now;
  }
}

/** An app's or an org's counters. */
class Counter {
  inFlight = 0;
  bucket: Bucket | null = null;
}

interface Limit {
  scope: 'app' | 'org';
  name: string;
  counter: Counter;
  perSecond: number;
  concurrency: number;
}

/**
 * Per-app and per-org rate and concurrency limits of this runner's invocations (each runner counts
 * its own). What is counted: every invocation the runner proxies, one each; and every connection
 * it hands to a program, as one unit of concurrency for as long as the program has it (it carries
 * at most one request at a time, and goes back after 1 s idle) and, when a rate applies, a budget
 * of invocations taken up front — the program gives the connection back once it is spent, and the
 * runner takes more or answers 429; what it did not use is given back.
 */
export class InvocationLimits {
  private readonly apps = new Map<string, Counter>();
  private readonly orgs = new Map<string, Counter>();
  private lastSweep = performance.now();

  constructor(private readonly settings: LimitSettings) {}

  /**
   * Admits one invocation (`connection` false) or a connection to hand over; a refusal is an
   * `InvocationError` (429 `rate_limited`, with `retry-after`).
   */
  admit(fn: ResolvedFunction, connection: boolean): Admission | InvocationError {
    const now = performance.now();
    if (now - this.lastSweep > SWEEP_MS) this.sweep(now);
    const limits: Limit[] = [
      {
        scope: 'app',
        name: fn.functionId,
        counter: counterOf(this.apps, fn.appId),
        perSecond: fn.rateLimitPerSecond ?? this.settings.appRatePerSecond,
        concurrency: fn.concurrencyLimit ?? this.settings.appConcurrency,
      },
      {
        scope: 'org',
        name: fn.functionId.slice(0, fn.functionId.indexOf('/')),
        counter: counterOf(this.orgs, fn.orgId),
        perSecond: this.settings.orgRatePerSecond,
        concurrency: this.settings.orgConcurrency,
      },
    ];
    for (const limit of limits) {
      if (limit.concurrency > 0 && limit.counter.inFlight >= limit.concurrency) {
        return new InvocationError(ErrorCode.rateLimited, invokeErrors.concurrencyLimited(limit.scope, limit.name, limit.concurrency), {
          retryAfterSeconds: 1,
        });
      }
    }
    const rated = limits.filter((limit) => limit.perSecond > 0);
    let budget: number | undefined;
    if (rated.length > 0) {
      const slowest = Math.min(...rated.map((limit) => limit.perSecond));
      let wanted = connection ? Math.min(MAX_BUDGET, Math.max(1, Math.ceil(slowest * BUDGET_SECONDS))) : 1;
      const taken: [Bucket, number][] = [];
      for (const limit of rated) {
        limit.counter.bucket ??= new Bucket(limit.perSecond, now);
        const got = limit.counter.bucket.take(wanted, now, limit.perSecond);
        if (got === 0) {
          for (const [bucket, count] of taken) bucket.give(count);
          return new InvocationError(ErrorCode.rateLimited, invokeErrors.rateLimited(limit.scope, limit.name, limit.perSecond), {
            retryAfterSeconds: limit.counter.bucket.retryAfter(),
          });
        }
        taken.push([limit.counter.bucket, got]);
        wanted = got;
      }
      // Every bucket gives what the scarcest gave.
      for (const [bucket, count] of taken) bucket.give(count - wanted);
      budget = wanted;
    }
    for (const limit of limits) limit.counter.inFlight++;
    let released = false;
    return {
      budget,
      release: (served: number) => {
        if (released) return;
        released = true;
        const unused = budget === undefined ? 0 : Math.max(0, budget - served);
        for (const limit of limits) {
          limit.counter.inFlight--;
          if (unused > 0) limit.counter.bucket?.give(unused);
        }
      },
    };
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const counters of [this.apps, this.orgs]) {
      for (const [id, counter] of counters) {
        if (counter.inFlight === 0 && (counter.bucket === null || counter.bucket.full(now))) counters.delete(id);
      }
    }
  }
}

function counterOf(counters: Map<string, Counter>, id: string): Counter {
  let counter = counters.get(id);
  if (counter === undefined) {
    counter = new Counter();
    counters.set(id, counter);
  }
  return counter;
}
