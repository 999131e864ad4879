import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The public invoke route, the one users, the CLI and REST clients call:
 * `{method} /v1/orgs/{org}/apps/{app}/invoke{/path}{?query}`. The data plane (the runner's direct
 * port) serves it at the program's speed; the API serves the same shape for compatibility and
 * forwards it there. Every path answers it with the same words (`invokeErrors`).
 */
export const PUBLIC_INVOKE_PREFIX = '/v1/orgs/';

/** `/v1/orgs/{org}/apps/{app}/invoke`, names as they are (org slugs and app names need no encoding). */
export function publicInvokePath(org: string, app: string): string {
  return `${PUBLIC_INVOKE_PREFIX}${org}/apps/${app}/invoke`;
}

/**
 * Who may invoke an app: `key` (the default) — a valid API key of the app's org; `public` —
 * anyone, with no key (as a function URL with auth NONE).
 */
export const INVOKE_AUTH_MODES = ['key', 'public'] as const;
export type InvokeAuth = (typeof INVOKE_AUTH_MODES)[number];

export const API_KEY_PREFIX = 'ign_';
const API_KEY_PATTERN = /^ign_[A-Za-z0-9_-]{43}$/;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** What is stored of a key and what it is looked up by: the SHA-256 hex of the whole key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True when the string has the shape of a key (checked before any lookup). */
export function looksLikeApiKey(value: string): boolean {
  return API_KEY_PATTERN.test(value);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  return BEARER.exec(header)?.[1];
}

/**
 * Whether an Authorization value presents an Ignite API key (`Bearer ign_…`, well formed or not):
 * the platform's credential, which no handler is given. Other schemes (a public app's own Basic
 * or Bearer tokens) reach the handler as sent.
 */
export function presentsApiKey(header: string | undefined): boolean {
  return bearerToken(header)?.startsWith(API_KEY_PREFIX) === true;
}

/** The answers of every invoke path, word for word (API, runner, program). */
export const invokeErrors = {
  missingKey: 'missing API key: send "Authorization: Bearer <key>"',
  invalidKey: 'invalid API key',
  /** An app that does not exist, or that the caller's key may not see: the same words, never 403. */
  appNotFound: (org: string, app: string) => `app "${app}" not found in org "${org}"`,
  noRelease: (org: string, app: string) =>
    `${org}/${app} has no published release: publish one with \`dodil ignite draft publish ${org}:${app}\``,
  rateLimited: (scope: 'app' | 'org', name: string, perSecond: number) =>
    `${scope} ${name} is over its rate limit of ${perSecond} invocations a second; retry after the retry-after seconds`,
  concurrencyLimited: (scope: 'app' | 'org', name: string, limit: number) =>
    `${scope} ${name} is over its limit of ${limit} concurrent invocations; retry after the retry-after seconds`,
  payloadTooLarge: (limitBytes: number) => `request body is larger than the limit of ${limitBytes} bytes`,
} as const;

/**
 * Pub/sub notice on `channels.apiKeys`: the API created or revoked a key. Data planes drop what
 * they cached for its hash at once (their cache TTL bounds a notice lost while Redis was away).
 */
export const ApiKeyChangedSchema = z.object({
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  change: z.enum(['created', 'revoked']),
});
export type ApiKeyChanged = z.infer<typeof ApiKeyChangedSchema>;
