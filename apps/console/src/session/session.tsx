import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { type ApiClient, createApiClient, dataOf } from '../api/client';

/** Who is signed in: the org of the key, and the client that sends it. */
export interface Session {
  org: string;
  keyName: string;
  api: ApiClient;
}

interface SessionState {
  session: Session | undefined;
  signIn(key: string): Promise<void>;
  signOut(): void;
}

// The key lives in this tab's sessionStorage only: gone when the tab closes, never in
// localStorage or a cookie (no other tab or request carries it).
const KEY_ITEM = 'ignite.console.apiKey';
const ORG_ITEM = 'ignite.console.org';
const KEY_NAME_ITEM = 'ignite.console.keyName';

const SessionContext = createContext<SessionState | undefined>(undefined);

function stored(onUnauthorized: () => void): Session | undefined {
  const key = sessionStorage.getItem(KEY_ITEM);
  const org = sessionStorage.getItem(ORG_ITEM);
  if (!key || !org) return undefined;
  return { org, keyName: sessionStorage.getItem(KEY_NAME_ITEM) ?? '', api: createApiClient(key, onUnauthorized) };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const signOut = useCallback(() => {
    sessionStorage.removeItem(KEY_ITEM);
    sessionStorage.removeItem(ORG_ITEM);
    sessionStorage.removeItem(KEY_NAME_ITEM);
    setSession(undefined);
  }, []);
  const [session, setSession] = useState<Session | undefined>(() => stored(signOut));

  const signIn = useCallback(
    async (key: string) => {
      // A key that fails here (mistyped, revoked) must not sign the user out of nothing: only a
      // key the API accepted is kept.
      const probe = createApiClient(key, () => undefined);
      const whoami = await dataOf(probe.GET('/v1/whoami'));
      sessionStorage.setItem(KEY_ITEM, key);
      sessionStorage.setItem(ORG_ITEM, whoami.org);
      sessionStorage.setItem(KEY_NAME_ITEM, whoami.key.name);
      setSession({ org: whoami.org, keyName: whoami.key.name, api: createApiClient(key, signOut) });
    },
    [signOut],
  );

  const value = useMemo(() => ({ session, signIn, signOut }), [session, signIn, signOut]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSessionState(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSessionState outside SessionProvider');
  return state;
}

/** The signed-in session (the console's routes render only with one). */
export function useSession(): Session {
  const { session } = useSessionState();
  if (!session) throw new Error('useSession without a signed-in session');
  return session;
}
