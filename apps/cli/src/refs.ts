/** `org:app`, or a bare `app` in the configured default org. */
export interface AppRef {
  org: string;
  app: string;
}

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

export class UsageError extends Error {}

export function parseAppRef(ref: string, defaultOrg: string): AppRef {
  const parts = ref.split(':');
  const [org, app] = parts.length === 2 ? parts : [defaultOrg, parts[0]];
  if (parts.length > 2 || !org || !app || !NAME.test(app)) {
    throw new UsageError(`"${ref}" is not an app reference: use ORG:APP (e.g. org:hello) or APP`);
  }
  return { org, app };
}
