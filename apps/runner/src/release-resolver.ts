import { channels, ErrorCode, type InvokeAuth, type ReleaseActivated, ReleaseActivatedSchema } from '@ignite/contracts';
import type { PrismaClient } from '@ignite/database';
import type { Logger } from '@ignite/service-kit';
import type { Redis } from 'ioredis';
import { InvocationError } from './errors';

export type ReleaseTarget = 'native' | 'wasm';

export interface ActiveRelease {
  id: string;
  number: number;
  target: ReleaseTarget;
  artifactSha256: string;
}

/** What an `org/app` resolves to: everything needed to start and call its instances. */
export interface ResolvedFunction {
  /** `org/app`, as `ctx.function_id()` sees it. */
  functionId: string;
  appId: string;
  orgId: string;
  /** Who may invoke it on the public route. */
  auth: InvokeAuth;
  /** The app's own limits (null: the runner's defaults). */
  rateLimitPerSecond: number | null;
  concurrencyLimit: number | null;
  /** null: the app exists but nothing is published. */
  release: ActiveRelease | null;
  /** The app's environment variables (valid entries only). */
  env: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
  /** Instances are interchangeable when this is equal: same release, env and memory limit. */
  configKey: string;
  /** Increases with every load: of two resolutions of one app, the higher is the fresher. */
  generation: number;
}

export interface ResolverOptions {
  prisma: PrismaClient;
  /** A connection of its own: it is put in subscriber mode. */
  subscriber: Redis;
  prefix: string;
  logger: Logger;
  cacheTtlMs: number;
  defaultTimeoutMs: number;
  defaultMemoryMb: number;
}

/** A row of `findApp` (the release columns are null when nothing is published). */
interface AppRow {
  id: string;
  orgId: string;
  invokeAuth: InvokeAuth;
  rateLimitPerSecond: number | null;
  concurrencyLimit: number | null;
  env: unknown;
  timeoutMs: number | null;
  memoryMb: number | null;
  releaseId: string | null;
  number: number | null;
  target: ReleaseTarget | null;
  artifactSha256: string | null;
}

interface CacheEntry {
  /** null: no such app. */
  value: ResolvedFunction | null;
  expiresAt: number;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** While Postgres is unreachable, a stale entry is served and the read retried this often. */
const STALE_RETRY_MS = 1_000;

/**
 * `org/app` → app and active release, cached. A release announcement on
 * `channels.releases(prefix)` drops the app's entry at once (and listeners drain the old
 * release's instances); the TTL covers announcements missed while Redis was away, and a
 * reconnect drops everything.
 */
export class ReleaseResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<ResolvedFunction | null>>();
  /** Bumped by every invalidation of a key: a load that straddles one is redone. */
  private readonly epochs = new Map<string, number>();
  private readonly functionIdOfApp = new Map<string, string>();
  private readonly listeners: ((event: ReleaseActivated) => void)[] = [];
  private generation = 0;
  private subscribed = false;

  constructor(private readonly options: ResolverOptions) {}

  /** Subscribes to release announcements; resolves once the subscription is active. */
  async start(): Promise<void> {
    const { subscriber, prefix, logger } = this.options;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === channels.releases(prefix)) this.onAnnouncement(message);
    });
    subscriber.on('ready', () => {
      // Announcements sent while we were disconnected are lost: trust nothing cached.
      if (this.subscribed) {
        logger.info('release channel reconnected: dropping the release cache');
        this.invalidateAll();
      }
    });
    await subscriber.subscribe(channels.releases(prefix));
    this.subscribed = true;
  }

  onActivated(listener: (event: ReleaseActivated) => void): void {
    this.listeners.push(listener);
  }

  /** The cached resolution, if fresh: the hot path needs no promise. */
  peek(functionId: string): ResolvedFunction | null | undefined {
    const entry = this.cache.get(functionId);
    if (entry === undefined || entry.expiresAt < Date.now()) return undefined;
    return entry.value;
  }

  /** Resolves `org/app`; null when there is no such app. Throws `InvocationError` when Postgres fails. */
  resolve(org: string, app: string): Promise<ResolvedFunction | null> {
    const functionId = `${org}/${app}`;
    const cached = this.peek(functionId);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.loading.get(functionId);
    if (pending === undefined) {
      pending = this.load(functionId, org, app).finally(() => this.loading.delete(functionId));
      this.loading.set(functionId, pending);
    }
    return pending;
  }

  invalidate(functionId: string): void {
    this.cache.delete(functionId);
    this.epochs.set(functionId, (this.epochs.get(functionId) ?? 0) + 1);
  }

  invalidateAll(): void {
    for (const functionId of [...this.cache.keys(), ...this.loading.keys()]) this.invalidate(functionId);
  }

  private onAnnouncement(message: string): void {
    let event: ReleaseActivated;
    try {
      const parsed = ReleaseActivatedSchema.safeParse(JSON.parse(message));
      if (!parsed.success) throw new Error(parsed.error.message);
      event = parsed.data;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'ignoring a malformed release announcement');
      return;
    }
    this.invalidate(event.functionId);
    const known = this.functionIdOfApp.get(event.appId);
    if (known !== undefined && known !== event.functionId) this.invalidate(known);
    this.options.logger.info({ functionId: event.functionId, releaseId: event.releaseId, number: event.number }, 'release activated');
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.error({ err: error }, 'release listener failed');
      }
    }
  }

  private async load(functionId: string, org: string, app: string): Promise<ResolvedFunction | null> {
    for (let attempt = 0; ; attempt++) {
      const epoch = this.epochs.get(functionId) ?? 0;
      let value: ResolvedFunction | null;
      try {
        value = await this.query(functionId, org, app);
      } catch (error) {
        // Postgres is away: an expired entry (not one an announcement dropped) beats a 503.
        const stale = this.cache.get(functionId);
        if (stale === undefined) throw error;
        stale.expiresAt = Date.now() + STALE_RETRY_MS;
        return stale.value;
      }
      // An announcement arrived while we were reading: what we read may predate it.
      if ((this.epochs.get(functionId) ?? 0) !== epoch && attempt < 3) continue;
      this.cache.set(functionId, { value, expiresAt: Date.now() + this.options.cacheTtlMs });
      if (value !== null) this.functionIdOfApp.set(value.appId, functionId);
      return value;
    }
  }

  private async query(functionId: string, org: string, app: string): Promise<ResolvedFunction | null> {
    let rows: AppRow[];
    try {
      rows = await this.findApp(org, app);
    } catch (error) {
      // Postgres restarting or away: expected now and then, so a warning without a stack.
      this.options.logger.warn(
        { err: error instanceof Error ? error.message : String(error), functionId },
        'could not read the app from Postgres',
      );
      throw new InvocationError(
        ErrorCode.unavailable,
        'the runner cannot read releases from the database (Postgres) right now; try again',
        {
          details: { dependency: 'postgres' },
        },
      );
    }
    const row = rows[0];
    if (row === undefined) return null;
    const env = this.validEnv(functionId, row.env);
    const memoryMb = row.memoryMb ?? this.options.defaultMemoryMb;
    const release: ActiveRelease | null =
      row.releaseId === null || row.number === null || row.target === null || row.artifactSha256 === null
        ? null
        : { id: row.releaseId, number: row.number, target: row.target, artifactSha256: row.artifactSha256 };
    return {
      functionId,
      appId: row.id,
      orgId: row.orgId,
      auth: row.invokeAuth,
      rateLimitPerSecond: row.rateLimitPerSecond,
      concurrencyLimit: row.concurrencyLimit,
      release,
      env,
      timeoutMs: row.timeoutMs ?? this.options.defaultTimeoutMs,
      memoryMb,
      configKey: JSON.stringify([release?.id ?? null, memoryMb, Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))]),
      generation: ++this.generation,
    };
  }

  /** One round trip (the hot path of a cold start): the app, its org, who may invoke it and its active release. */
  private findApp(org: string, app: string): Promise<AppRow[]> {
    return this.options.prisma.$queryRaw<AppRow[]>`
      SELECT a.id, a."orgId", a."invokeAuth"::text AS "invokeAuth", a."rateLimitPerSecond", a."concurrencyLimit",
             a.env, a."timeoutMs", a."memoryMb",
             r.id AS "releaseId", r.number, r.target::text AS target, r."artifactSha256"
        FROM apps a
        JOIN orgs o ON o.id = a."orgId"
        LEFT JOIN releases r ON r.id = a."activeReleaseId"
       WHERE o.slug = ${org} AND a.name = ${app}
       LIMIT 1`;
  }

  /** The app's env as strings; entries a process could not receive are dropped (and logged). */
  private validEnv(functionId: string, raw: unknown): Record<string, string> {
    const env: Record<string, string> = {};
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return env;
    for (const [name, value] of Object.entries(raw)) {
      if (ENV_NAME.test(name) && typeof value === 'string' && !value.includes('\0')) env[name] = value;
      else this.options.logger.warn({ functionId, variable: name }, 'ignoring an app environment variable that is not a valid name=string');
    }
    return env;
  }
}
