import { Injectable } from '@nestjs/common';
import { generateApiKey, hashApiKey, looksLikeApiKey } from './api-key';
import { ApiKeysRepository, type KeyOwner } from './api-keys.repository';

const TOUCH_INTERVAL_MS = 60_000;

@Injectable()
export class ApiKeysService {
  constructor(private readonly keys: ApiKeysRepository) {}

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

  /** Creates a key for an org and returns the secret (the only time it exists outside the caller). */
  async issue(orgId: string, name: string): Promise<string> {
    const { key, hash, prefix } = generateApiKey();
    await this.keys.create(orgId, name, prefix, hash);
    return key;
  }

  async ensureOrg(slug: string): Promise<{ id: string; slug: string }> {
    return this.keys.ensureOrg(slug);
  }
}
