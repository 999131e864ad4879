import { type FormEvent, useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { ErrorNotice } from '../components/states';
import { useSessionState } from '../session/session';

export function SignInPage() {
  const { signIn } = useSessionState();
  const navigate = useNavigate();
  const location = useLocation();
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(key.trim());
      const from = (location.state as { from?: string } | null)?.from;
      navigate(from && from !== '/sign-in' ? from : '/', { replace: true });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in" id="main">
      <form onSubmit={submit} className="card">
        <h1>Ignite console</h1>
        <p>
          Sign in with an API key of your org (<code>ign_…</code>: <code>dodil ignite key create console</code> prints a new one). It is
          kept in this tab only, until you sign out or close it.
        </p>
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          required
          value={key}
          onChange={(event) => setKey(event.target.value)}
          placeholder="ign_…"
        />
        {error ? <ErrorNotice error={error} title="Not signed in" /> : null}
        <button type="submit" className="primary" disabled={busy || key.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
