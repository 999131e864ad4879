import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived tokens that let one build pod do one thing: read its own build context, or write its
 * own artifact. A token is `ibt1.<payload>.<signature>`: the payload is base64url JSON
 * `{ b: buildId, s: scope, iat, exp }` (seconds since the epoch), the signature the base64url
 * HMAC-SHA256 of `ibt1.<payload>` under the platform's key. Nothing is stored: the API verifies a
 * token with the key alone, so a token cannot be revoked before it expires — keep them short.
 */

export type BuildTokenScope = 'context:read' | 'artifact:write';
export const BUILD_TOKEN_SCOPES: readonly BuildTokenScope[] = ['context:read', 'artifact:write'];

/** The environment variable holding the signing key (shared by the compile worker and the API). */
export const BUILD_TOKEN_KEY_ENV = 'IGNITE_BUILD_TOKEN_KEY';
/** Shortest key accepted, in bytes: HMAC-SHA256 wants at least its output size of secret. */
export const MIN_BUILD_TOKEN_KEY_BYTES = 32;
/** Longest token lifetime accepted by `signBuildToken` (a day; builds are time-boxed far below it). */
export const MAX_BUILD_TOKEN_TTL_SECONDS = 24 * 60 * 60;

/** Build ids as they appear in URL paths and label values: no dots, slashes or spaces. */
const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const VERSION = 'ibt1';

export type BuildTokenKey = string | Buffer;

export interface BuildTokenClaims {
  buildId: string;
  scope: BuildTokenScope;
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
}

export type BuildTokenProblem = 'malformed' | 'bad-signature' | 'expired' | 'wrong-build' | 'wrong-scope';

/** A token that does not grant what was asked; `reason` says why (for logs and the 401/403 answer). */
export class BuildTokenError extends Error {
  constructor(
    readonly reason: BuildTokenProblem,
    message: string,
  ) {
    super(message);
    this.name = 'BuildTokenError';
  }

  /** The token is genuine and current but grants something else (another build or operation). */
  get forbidden(): boolean {
    return this.reason === 'wrong-build' || this.reason === 'wrong-scope';
  }
}

export function isValidBuildId(buildId: string): boolean {
  return BUILD_ID.test(buildId);
}

export function signBuildToken(
  request: { buildId: string; scope: BuildTokenScope; ttlSeconds: number },
  key: BuildTokenKey,
  now: number = Date.now(),
): string {
  const secret = keyBytes(key);
  if (!isValidBuildId(request.buildId)) throw new Error(`not a build id: ${JSON.stringify(request.buildId)}`);
  if (!BUILD_TOKEN_SCOPES.includes(request.scope)) throw new Error(`unknown build token scope ${JSON.stringify(request.scope)}`);
  if (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < 1 || request.ttlSeconds > MAX_BUILD_TOKEN_TTL_SECONDS) {
    throw new Error(`ttlSeconds must be an integer from 1 to ${MAX_BUILD_TOKEN_TTL_SECONDS}, got ${request.ttlSeconds}`);
  }
  const iat = Math.floor(now / 1000);
  const payload = Buffer.from(JSON.stringify({ b: request.buildId, s: request.scope, iat, exp: iat + request.ttlSeconds })).toString(
    'base64url',
  );
  const signed = `${VERSION}.${payload}`;
  return `${signed}.${signature(signed, secret).toString('base64url')}`;
}

/**
 * Checks the signature, the expiry, and that the token was issued for exactly this build and this
 * operation; returns its claims or throws a BuildTokenError. `clockToleranceSeconds` absorbs clock
 * skew between the signer (compile worker) and the verifier (API).
 */
export function verifyBuildToken(
  token: string,
  expected: { buildId: string; scope: BuildTokenScope },
  key: BuildTokenKey,
  options: { now?: number; clockToleranceSeconds?: number } = {},
): BuildTokenClaims {
  const secret = keyBytes(key);
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION || !parts[1] || !parts[2]) {
    throw new BuildTokenError('malformed', 'not a build token');
  }
  const [version, payload, sent] = parts as [string, string, string];
  const expectedSignature = signature(`${version}.${payload}`, secret);
  const sentSignature = Buffer.from(sent, 'base64url');
  // timingSafeEqual needs equal lengths; a length mismatch is no secret (the length is public).
  if (sentSignature.length !== expectedSignature.length || !timingSafeEqual(sentSignature, expectedSignature)) {
    throw new BuildTokenError('bad-signature', 'the build token signature does not match');
  }
  const claims = parseClaims(payload);
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (now > claims.expiresAt + (options.clockToleranceSeconds ?? 0)) {
    throw new BuildTokenError('expired', `the build token expired ${now - claims.expiresAt} s ago`);
  }
  if (claims.buildId !== expected.buildId) {
    throw new BuildTokenError('wrong-build', `the build token was issued for another build, not ${expected.buildId}`);
  }
  if (claims.scope !== expected.scope) {
    throw new BuildTokenError('wrong-scope', `the build token grants ${claims.scope}, not ${expected.scope}`);
  }
  return claims;
}

/**
 * The signing key from the environment (`IGNITE_BUILD_TOKEN_KEY`). There is no default: a missing
 * or short key is an error, so no deployment runs with a guessable key.
 */
export function loadBuildTokenKey(env: NodeJS.ProcessEnv = process.env): Buffer {
  const value = env[BUILD_TOKEN_KEY_ENV];
  if (value === undefined || value === '') {
    throw new Error(
      `${BUILD_TOKEN_KEY_ENV} is not set: set it to a random secret of at least ${MIN_BUILD_TOKEN_KEY_BYTES} bytes (e.g. \`openssl rand -base64 48\`)`,
    );
  }
  return keyBytes(value);
}

/** A fresh random key in the form `IGNITE_BUILD_TOKEN_KEY` takes (tests, local setups). */
export function generateBuildTokenKey(): string {
  return randomBytes(48).toString('base64url');
}

function keyBytes(key: BuildTokenKey): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  if (bytes.length < MIN_BUILD_TOKEN_KEY_BYTES) {
    throw new Error(`the build token key must be at least ${MIN_BUILD_TOKEN_KEY_BYTES} bytes, got ${bytes.length}`);
  }
  return bytes;
}

function signature(signed: string, secret: Buffer): Buffer {
  return createHmac('sha256', secret).update(signed).digest();
}

function parseClaims(payload: string): BuildTokenClaims {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw new BuildTokenError('malformed', 'the build token payload is not JSON');
  }
  const claims = raw as { b?: unknown; s?: unknown; iat?: unknown; exp?: unknown };
  if (
    typeof claims.b !== 'string' ||
    typeof claims.s !== 'string' ||
    !BUILD_TOKEN_SCOPES.includes(claims.s as BuildTokenScope) ||
    !Number.isInteger(claims.iat) ||
    !Number.isInteger(claims.exp)
  ) {
    throw new BuildTokenError('malformed', 'the build token payload lacks its claims');
  }
  return { buildId: claims.b, scope: claims.s as BuildTokenScope, issuedAt: claims.iat as number, expiresAt: claims.exp as number };
}
