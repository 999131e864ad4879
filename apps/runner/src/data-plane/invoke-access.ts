import { API_KEY_PREFIX, bearerToken, ErrorCode, hashApiKey, invokeErrors, looksLikeApiKey } from '@ignite/contracts';
import { InvocationError } from '../errors';
import type { ReleaseResolver, ResolvedFunction } from '../release-resolver';
import type { ApiKeyCache, KeyOwner } from './api-keys';

/** Who may invoke what on the public route. */
export type Access =
  | {
      allowed: true;
      fn: ResolvedFunction;
      /** The valid key's owner (null: no key, on a public app). */
      owner: KeyOwner | null;
      /**
       * The connection may be handed to the app's program: whatever Ignite key it carries belongs
       * to the app's own org (a public app called with another org's key, or an invalid one, is
       * served by the runner, so that the key never reaches another tenant's program).
       */
      handOver: boolean;
    }
  | { allowed: false; error: InvocationError };

/**
 * The caller's key as presented: none; another scheme's credential (`Basic …`, a `Bearer` token
 * that is no Ignite key: a public app's own business); an Ignite key that cannot be one; or its hash.
 */
type Presented = { kind: 'none' } | { kind: 'foreign' } | { kind: 'invalid' } | { kind: 'key'; hash: string };

/**
 * The public route's rules, from the caches (no Postgres read per request): an app with
 * `auth: key` takes a valid API key of its own org; `auth: public` takes anyone. Refusals say no
 * more than the API's own routes: no key 401, a wrong or revoked one 401, another org's app (or
 * one that does not exist) 404 with the same words either way.
 */
export class InvokeAccess {
  constructor(
    private readonly resolver: ReleaseResolver,
    private readonly keys: ApiKeyCache,
  ) {}

  /** The answer from the caches alone (undefined: one of them must be read first, see `decide`). */
  decideNow(org: string, app: string, authorization: string | undefined): Access | undefined {
    const presented = presentedKey(authorization);
    const owner = presented.kind === 'key' ? this.keys.peek(presented.hash) : null;
    if (owner === undefined) return undefined;
    const fn = this.resolver.peek(`${org}/${app}`);
    if (fn === undefined) return undefined;
    return rule(org, app, authorization, presented, owner, fn);
  }

  async decide(org: string, app: string, authorization: string | undefined): Promise<Access> {
    const now = this.decideNow(org, app, authorization);
    if (now !== undefined) return now;
    const presented = presentedKey(authorization);
    try {
      const [owner, fn] = await Promise.all([
        presented.kind === 'key' ? this.keys.lookup(presented.hash) : null,
        this.resolver.resolve(org, app),
      ]);
      return rule(org, app, authorization, presented, owner, fn);
    } catch (error) {
      if (error instanceof InvocationError) return { allowed: false, error };
      throw error;
    }
  }
}

function presentedKey(authorization: string | undefined): Presented {
  if (authorization === undefined || authorization === '') return { kind: 'none' };
  const token = bearerToken(authorization);
  if (token === undefined || !token.startsWith(API_KEY_PREFIX)) return { kind: 'foreign' };
  if (!looksLikeApiKey(token)) return { kind: 'invalid' };
  return { kind: 'key', hash: hashApiKey(token) };
}

function rule(
  org: string,
  app: string,
  authorization: string | undefined,
  presented: Presented,
  owner: KeyOwner | null,
  fn: ResolvedFunction | null,
): Access {
  if (fn !== null && fn.auth === 'public') {
    const ownKey = presented.kind === 'none' || presented.kind === 'foreign' || (owner !== null && owner.orgId === fn.orgId);
    return { allowed: true, fn, owner: owner?.orgId === fn.orgId ? owner : null, handOver: ownKey };
  }
  // The API's words: no Bearer token at all is a missing key, any other token an invalid one.
  if (presented.kind === 'none' || (presented.kind === 'foreign' && bearerToken(authorization) === undefined)) {
    return refused(ErrorCode.unauthorized, invokeErrors.missingKey);
  }
  if (owner === null) return refused(ErrorCode.unauthorized, invokeErrors.invalidKey);
  if (owner.org !== org || fn === null) return refused(ErrorCode.notFound, invokeErrors.appNotFound(org, app));
  return { allowed: true, fn, owner, handOver: true };
}

function refused(code: ErrorCode, message: string): Access {
  return { allowed: false, error: new InvocationError(code, message) };
}
