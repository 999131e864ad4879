import { Link, Outlet } from 'react-router';
import { useSession, useSessionState } from '../session/session';

/** The frame of every signed-in page: the org, the way home, sign-out. */
export function ConsoleLayout() {
  const { org, keyName } = useSession();
  const { signOut } = useSessionState();
  return (
    <div className="console">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand">
          Ignite
        </Link>
        <span className="org" title={keyName ? `signed in with the key “${keyName}”` : undefined}>
          org <strong data-testid="org-name">{org}</strong>
        </span>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
