import { randomBytes } from 'node:crypto';
import { API_KEY_PREFIX, hashApiKey } from '@ignite/contracts';

// The key's shape, its hash and the Authorization header are the data plane's too: one definition, in the contracts.
export { API_KEY_PREFIX, bearerToken, hashApiKey, looksLikeApiKey } from '@ignite/contracts';

export interface NewApiKey {
  /** The secret, shown once: `ign_` + 32 random bytes in base64url. */
  key: string;
  /** What is stored: the SHA-256 hex of the whole key. */
  hash: string;
  /** The first 8 characters after `ign_`, for people to tell keys apart. */
  prefix: string;
}

export function generateApiKey(): NewApiKey {
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: displayPrefix(key) };
}

export function displayPrefix(key: string): string {
  return key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 8);
}
