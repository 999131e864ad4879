import { ErrorCode, invokeErrors } from '@ignite/contracts';
import type { ApiKeyModel } from '@ignite/database';
import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import { isUuid } from '../common/uuid';
import { ApiKeyNotifier } from '../infra/api-key-notifier';
import { generateApiKey, hashApiKey, looksLikeApiKey } from './api-key';
import { ApiKeysRepository, type KeyOwner } from './api-keys.repository';
import type { AuthContext } from './auth-context';

const TOUCH_INTERVAL_MS = 60_000;

/** API keys: checking one, issuing, listing and revoking them (the data plane hears of each change). */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly notifier: ApiKeyNotifier,
  ) {}

  /** The owner of a valid key, or undefined for anything else (malformed, unknown, revoked). */
  async verify(key: string): Promise<KeyOwner | undefined> {
    if (!looksLikeApiKey(key)) return undefined;
    const owner = await this.keys.findActiveByHash(hashApiKey(key));
    if (!owner) return undefined;
    const now = new Date();
    if (!owner.lastUsedAt || now.getTime() - owner.lastUsedAt.getTime() >= TOUCH_INTERVAL_MS) {
      await this.keys.touch(owner.keyId, now, new Date(now.getTime() - TOUCH_INTERVAL_MS));
    }
    return owner;
  }

  /** Creates a key for an org and returns it with the secret (the only time it exists outside the caller). */
  async issue(orgId: string, name: string): Promise<{ key: ApiKeyModel; secret: string }> {
    const { key, hash, prefix } = generateApiKey();
    const created = await this.keys.create(orgId, name, prefix, hash);
    // A data plane that was asked for this hash before remembers "no such key": it forgets it.
    await this.notifier.keyChanged({ hash, change: 'created' });
    return { key: created, secret: key };
  }

  /**
   * The caller's own key. The guard has just accepted it; revoked between the guard and here, it
   * is refused as the guard would have refused it.
   */
  async caller(caller: AuthContext): Promise<ApiKeyModel> {
    const key = await this.keys.find(caller.orgId, caller.keyId);
    if (!key || key.revokedAt) throw new DomainError(ErrorCode.unauthorized, invokeErrors.invalidKey);
    return key;
  }

  async list(orgId: string): Promise<ApiKeyModel[]> {
    return this.keys.list(orgId);
  }

  /** Revokes a key of the org: refused by the API at once, and by the data plane at once too (or within its cache TTL if the notice is lost). */
  async revoke(orgId: string, keyId: string): Promise<ApiKeyModel> {
    const key = isUuid(keyId) ? await this.keys.revoke(orgId, keyId, new Date()) : undefined;
    if (!key) throw new DomainError(ErrorCode.notFound, `no API key ${keyId} in this org`);
    await this.notifier.keyChanged({ hash: key.hash, change: 'revoked' });
    return key;
  }

  async ensureOrg(slug: string): Promise<{ id: string; slug: string }> {
    return this.keys.ensureOrg(slug);
  }
}
