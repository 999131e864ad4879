import { ErrorCode, PUBLIC_INVOKE_PREFIX } from '@ignite/contracts';
import { InvocationError } from '../errors';
import type { InvokeTarget } from '../server';

const APPS = '/apps/';
const INVOKE = '/invoke';
const NAME = /^[^/\\\s\0]{1,128}$/;

/**
 * `/v1/orgs/{org}/apps/{app}/invoke{/path}{?query}` → names and the program's path (`/` when the
 * caller gave none); null when the URL is not an invocation (another route of the API's shape).
 */
export function parsePublicInvokePath(url: string): InvokeTarget | InvocationError | null {
  if (!url.startsWith(PUBLIC_INVOKE_PREFIX)) return null;
  const orgEnd = url.indexOf('/', PUBLIC_INVOKE_PREFIX.length);
  if (orgEnd === -1 || !url.startsWith(APPS, orgEnd)) return null;
  const appStart = orgEnd + APPS.length;
  const appEnd = url.indexOf('/', appStart);
  if (appEnd === -1 || !url.startsWith(INVOKE, appEnd)) return null;
  const after = appEnd + INVOKE.length;
  const next = url.charCodeAt(after);
  // NaN: the URL ends there; `/` a sub-path, `?` a query; anything else is another route (`/invokes`).
  if (!Number.isNaN(next) && next !== 0x2f && next !== 0x3f) return null;
  let org = url.slice(PUBLIC_INVOKE_PREFIX.length, orgEnd);
  let app = url.slice(appStart, appEnd);
  try {
    if (org.includes('%')) org = decodeURIComponent(org);
    if (app.includes('%')) app = decodeURIComponent(app);
  } catch {
    return new InvocationError(ErrorCode.validation, 'the org or app name is not valid percent-encoding');
  }
  if (!NAME.test(org) || !NAME.test(app)) return new InvocationError(ErrorCode.validation, 'not a valid org or app name');
  const rest = url.slice(after);
  return { org, app, path: rest === '' ? '/' : rest.startsWith('?') ? `/${rest}` : rest };
}
