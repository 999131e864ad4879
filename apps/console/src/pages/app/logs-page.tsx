import { useEffect, useState } from 'react';
import { dataOf, type FunctionLogLine, problemOf } from '../../api/client';
import { readEvents } from '../../api/streams';
import { Empty, ErrorNotice } from '../../components/states';
import { useSession } from '../../session/session';
import { LogLines } from './log-lines';
import { useAppPath } from './use-app';

/** The most lines the tail keeps on the page; older ones scroll away (the API keeps them). */
const KEPT_LINES = 2_000;

type Tail = 'connecting' | 'live' | 'paused' | 'stopped';

/**
 * The app's log, live: the most recent lines, then every new line as the API's follow stream
 * sends it (from the last line shown, so nothing is missed between the two), until paused.
 */
export function LogsPage() {
  const { api } = useSession();
  const path = useAppPath();
  const [lines, setLines] = useState<FunctionLogLine[]>([]);
  const [tail, setTail] = useState<Tail>('connecting');
  const [paused, setPaused] = useState(false);
  const [contains, setContains] = useState('');
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    if (paused) {
      setTail('paused');
      return;
    }
    const abort = new AbortController();
    setError(undefined);
    setTail('connecting');
    const query: { contains?: string } = filter === '' ? {} : { contains: filter };
    (async () => {
      const recent = await dataOf(
        api.GET('/v1/orgs/{org}/apps/{app}/logs', { params: { path, query: { ...query, limit: 200 } }, signal: abort.signal }),
      );
      setLines(recent.lines);
      const { response, error: body } = await api.GET('/v1/orgs/{org}/apps/{app}/logs/follow', {
        params: { path, query: { ...query, cursor: recent.cursor ?? undefined } },
        parseAs: 'stream',
        signal: abort.signal,
      });
      if (!response.ok || !response.body) throw problemOf(response.status, body ?? (await response.json().catch(() => undefined)));
      setTail('live');
      await readEvents(
        response.body,
        (event) => {
          if (event.event !== 'line') return;
          const line = JSON.parse(event.data) as FunctionLogLine;
          setLines((earlier) => [...earlier, line].slice(-KEPT_LINES));
        },
        abort.signal,
      );
      setTail('stopped');
    })().catch((failure: unknown) => {
      if (abort.signal.aborted) return;
      setError(failure);
      setTail('stopped');
    });
    return () => abort.abort();
  }, [api, path, paused, filter]);

  return (
    <section aria-labelledby="logs-title" className="stack">
      <h2 id="logs-title">
        Log{' '}
        <span className={`pill ${tail === 'live' ? 'good' : 'muted'}`} data-testid="tail-state">
          {tail}
        </span>
      </h2>
      <form
        className="filters"
        onSubmit={(event) => {
          event.preventDefault();
          setFilter(contains.trim());
        }}
      >
        <label>
          Containing <input value={contains} onChange={(event) => setContains(event.target.value)} placeholder="text" />
        </label>
        <button type="submit" className="secondary">
          Filter
        </button>
        <button type="button" className="secondary" onClick={() => setPaused((was) => !was)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </form>
      {error ? <ErrorNotice error={error} title="The live tail stopped" /> : null}
      {lines.length === 0 && tail !== 'connecting' ? (
        <Empty title="No log lines yet.">Lines the function writes to stdout and stderr appear here as they are written.</Empty>
      ) : (
        <LogLines app={path.app} lines={lines} />
      )}
    </section>
  );
}
