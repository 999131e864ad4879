import { createHash, randomBytes } from 'node:crypto';

export const API_KEY_PREFIX = 'ign_';
const API_KEY_PATTERN = /^ign_[A-Za-z0-9_-]{43}$/;

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

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function displayPrefix(key: string): string {
  return key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 8);
}

/** True when the string has the shape of a key (checked before any lookup). */
export function looksLikeApiKey(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}

/** The key in an `Authorization: Bearer <key>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
