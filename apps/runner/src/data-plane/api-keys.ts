import { type ApiKeyChanged, ApiKeyChangedSchema, channels, ErrorCode } from '@ignite/contracts';
import type { PrismaClient } from '@ignite/database';
import type { Logger } from '@ignite/service-kit';
import type { Redis } from 'ioredis';
import { InvocationError } from '../errors';

/** Whose a valid key is. */
export interface KeyOwner {
  keyId: string;
  orgId: string;
  /** The org's slug (`org` in `/v1/orgs/org/…`). */
  org: string;
}

export interface ApiKeyCacheOptions {
  prisma: PrismaClient;
  /** The resolver's subscriber connection (a connection in subscriber mode can take more channels). */
  subscriber: Redis;
  prefix: string;
  logger: Logger;
  /** How long an answer (a key's owner, or "no such key") is trusted without a notice. */
  ttlMs: number;
  /** Most hashes remembered (the oldest go first): a caller trying random keys cannot grow it without bound. */
  maxEntries?: number;
}

interface Entry {
  /** null: no such key, or revoked. */
  owner: KeyOwner | null;
  expiresAt: number;
}

/** While Postgres is unreachable, an expired answer is served and the read retried this often. */
const STALE_RETRY_MS = 1_000;

/**
 * API key hash → its org, for the data plane: a key is read from Postgres once per TTL, not per
 * request. The API's notice on `channels.apiKeys` (a key created or revoked) drops the hash's
 * entry at once; the TTL bounds what a notice lost while Redis was away can keep (a reconnect
 * drops everything). Unknown hashes are remembered too (as `null`), within `maxEntries`.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<KeyOwner | null>>();
  /** Hashes a notice named while they were being read: the answer read is not kept. */
  private readonly stale = new Set<string>();
  private readonly maxEntries: number;
  private subscribed = false;

  constructor(private readonly options: ApiKeyCacheOptions) {
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  /** Subscribes to the API's key notices; resolves once the subscription is active. */
  async start(): Promise<void> {
    const { subscriber, prefix, logger } = this.options;
    const channel = channels.apiKeys(prefix);
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) this.onNotice(message);
    });
    subscriber.on('ready', () => {
      // Notices sent while we were disconnected are lost: trust nothing cached.
      if (this.subscribed) {
        logger.info('api key channel reconnected: dropping the key cache');
        this.clear();
      }
    });
    await subscriber.subscribe(channel);
    this.subscribed = true;
  }

  /** The cached answer for a key's hash if fresh (undefined: not known, ask `lookup`): the hot path needs no promise. */
  peek(hash: string): KeyOwner | null | undefined {
    const entry = this.entries.get(hash);
    if (entry === undefined || entry.expiresAt < Date.now()) return undefined;
    return entry.owner;
  }

  /** The owner of the key with this hash (null: none, or revoked). Throws `InvocationError` when Postgres fails. */
  lookup(hash: string): Promise<KeyOwner | null> {
    const cached = this.peek(hash);
    if (cached !== undefined) return Promise.resolve(cached);
    let pending = this.loading.get(hash);
    if (pending === undefined) {
      pending = this.load(hash).finally(() => {
        this.loading.delete(hash);
        this.stale.delete(hash);
      });
      this.loading.set(hash, pending);
    }
    return pending;
  }

  forget(hash: string): void {
    this.entries.delete(hash);
    if (this.loading.has(hash)) this.stale.add(hash);
  }

  clear(): void {
    this.entries.clear();
    for (const hash of this.loading.keys()) this.stale.add(hash);
  }

  private onNotice(message: string): void {
    let notice: ApiKeyChanged;
    try {
      const parsed = ApiKeyChangedSchema.safeParse(JSON.parse(message));
      if (!parsed.success) throw new Error(parsed.error.message);
      notice = parsed.data;
    } catch (error) {
      this.options.logger.warn({ err: error }, 'ignoring a malformed api key notice');
      return;
    }
    this.forget(notice.hash);
  }

  private async load(hash: string): Promise<KeyOwner | null> {
    let owner: KeyOwner | null;
    try {
      owner = await this.find(hash);
    } catch (error) {
      // Postgres is away: an expired answer beats refusing every caller.
      const stale = this.entries.get(hash);
      if (stale === undefined) {
        this.options.logger.error({ err: error }, 'could not read an api key from Postgres');
        throw new InvocationError(ErrorCode.unavailable, 'the runner cannot check API keys right now; try again');
      }
      stale.expiresAt = Date.now() + STALE_RETRY_MS;
      return stale.owner;
    }
    if (!this.stale.has(hash)) this.remember(hash, owner);
    return owner;
  }

  private remember(hash: string, owner: KeyOwner | null): void {
    this.entries.delete(hash);
    this.entries.set(hash, { owner, expiresAt: Date.now() + this.options.ttlMs });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
  }

  /** One round trip: the unrevoked key with this hash and its org. */
  private async find(hash: string): Promise<KeyOwner | null> {
    const rows = await this.options.prisma.$queryRaw<KeyOwner[]>`
      SELECT k.id AS "keyId", o.id AS "orgId", o.slug AS org
        FROM api_keys k
        JOIN orgs o ON o.id = k."orgId"
       WHERE k.hash = ${hash} AND k."revokedAt" IS NULL
       LIMIT 1`;
    return rows[0] ?? null;
  }
}
