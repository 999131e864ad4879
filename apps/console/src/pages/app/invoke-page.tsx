import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'react-router';
import { ErrorNotice } from '../../components/states';
import { useSession } from '../../session/session';
import { useAppPath } from './use-app';

interface Answer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** The body pretty-printed when it is JSON, as it came otherwise. */
function shown(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** Sends a JSON payload to the app's active release (the public invoke route) and shows the answer. */
export function InvokePage() {
  const { api } = useSession();
  const path = useAppPath();
  const queries = useQueryClient();
  const [payload, setPayload] = useState('{\n  "message": "hi there"\n}');
  const [problem, setProblem] = useState<string>();
  const [answer, setAnswer] = useState<Answer>();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<unknown>();

  const send = async (event: FormEvent) => {
    event.preventDefault();
    try {
      JSON.parse(payload);
    } catch (error) {
      setProblem(`The payload is not JSON: ${(error as Error).message}. Fix it and send again.`);
      return;
    }
    setProblem(undefined);
    setFailure(undefined);
    setBusy(true);
    try {
      const { response, data } = await api.POST('/v1/orgs/{org}/apps/{app}/invoke', {
        params: { path },
        body: payload as never,
        bodySerializer: (body: unknown) => body as string,
        headers: { 'content-type': 'application/json' },
        parseAs: 'text',
      });
      const text = typeof data === 'string' ? data : await response.text().catch(() => '');
      setAnswer({ status: response.status, headers: [...response.headers.entries()].sort(([a], [b]) => a.localeCompare(b)), body: text });
      void queries.invalidateQueries({ queryKey: ['invocations', path.org, path.app] });
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };

  const executionId = answer?.headers.find(([name]) => name === 'x-ignite-execution-id')?.[1];
  return (
    <section aria-labelledby="invoke-title" className="stack">
      <h2 id="invoke-title">Invoke</h2>
      <form onSubmit={send} className="card">
        <label htmlFor="invoke-payload">JSON payload</label>
        <textarea
          id="invoke-payload"
          rows={8}
          className="code"
          value={payload}
          onChange={(event) => setPayload(event.target.value)}
          spellCheck={false}
        />
        {problem ? <ErrorNotice error={new Error(problem)} /> : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Sending…' : 'Send'}
        </button>
      </form>
      {failure ? <ErrorNotice error={failure} title="Not sent" /> : null}
      {answer ? (
        <div className="card answer" data-testid="invoke-answer">
          <p>
            Status{' '}
            <strong data-testid="invoke-status" className={answer.status >= 400 ? 'bad' : 'good'}>
              {answer.status}
            </strong>
            {executionId ? (
              <>
                {' · '}
                <Link to={`/apps/${path.app}/invocations/${executionId}`}>this invocation and its log</Link>
              </>
            ) : null}
          </p>
          <h3>Body</h3>
          <pre className="code" data-testid="invoke-body">
            {shown(answer.body)}
          </pre>
          <h3>Headers</h3>
          <dl className="headers">
            {answer.headers.map(([name, value]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </div>
      ) : null}
    </section>
  );
}
