import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useParams } from 'react-router';
import { dataOf, problemOf } from '../../api/client';
import { readLines } from '../../api/streams';
import { dateTime, milliseconds } from '../../components/format';
import { ErrorNotice, Loading } from '../../components/states';
import { useSession } from '../../session/session';
import { diagnosticLinks } from './build-log';
import { BuildStatus } from './build-status';
import { useAppPath } from './use-app';

type Stream = 'connecting' | 'live' | 'ended';

/**
 * The build's log as it is written (the API's follow stream: lines arrive while cargo runs, the
 * answer ends with the build), from the first line; once more from the start if the page opens
 * again.
 */
function useLiveLog(buildId: string) {
  const { api } = useSession();
  const path = useAppPath();
  const [lines, setLines] = useState<string[]>([]);
  const [stream, setStream] = useState<Stream>('connecting');
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    const abort = new AbortController();
    setLines([]);
    setStream('connecting');
    setError(undefined);
    (async () => {
      const { response, error: body } = await api.GET('/v1/orgs/{org}/apps/{app}/builds/{buildId}/logs', {
        params: { path: { ...path, buildId }, query: { follow: 'true' } },
        parseAs: 'stream',
        signal: abort.signal,
      });
      if (!response.ok || !response.body) throw problemOf(response.status, body ?? (await response.json().catch(() => undefined)));
      setStream('live');
      await readLines(response.body, (more) => setLines((earlier) => [...earlier, ...more]), abort.signal);
      setStream('ended');
    })().catch((failure: unknown) => {
      if (abort.signal.aborted) return;
      setError(failure);
      setStream('ended');
    });
    return () => abort.abort();
  }, [api, path, buildId]);

  return { lines, stream, error };
}

export function BuildPage() {
  const { buildId } = useParams();
  if (!buildId) throw new Error('BuildPage outside …/builds/:buildId');
  const { api } = useSession();
  const path = useAppPath();
  const queries = useQueryClient();
  const log = useLiveLog(buildId);
  const build = useQuery({
    queryKey: ['build', path.org, path.app, buildId],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}/builds/{buildId}', { params: { path: { ...path, buildId } } })),
    refetchInterval: (query) => (query.state.data && ['queued', 'running'].includes(query.state.data.build.status) ? 1_500 : false),
  });
  const status = build.data?.build.status;

  // The first line means the worker has the build: show it running without waiting for a poll.
  const started = log.lines.length > 0;
  useEffect(() => {
    if (started) void queries.invalidateQueries({ queryKey: ['build', path.org, path.app, buildId] });
  }, [started, queries, path.org, path.app, buildId]);

  // The stream ends with the build: read its final state then, and refresh the app's lists.
  useEffect(() => {
    if (log.stream !== 'ended') return;
    void queries.invalidateQueries({ queryKey: ['build', path.org, path.app, buildId] });
    void queries.invalidateQueries({ queryKey: ['builds', path.org, path.app] });
    void queries.invalidateQueries({ queryKey: ['app', path.org, path.app] });
  }, [log.stream, queries, path.org, path.app, buildId]);

  const logBox = useRef<HTMLDivElement>(null);
  const following = useRef(true);
  // Keeps the newest line in view while the reader has not scrolled up.
  useEffect(() => {
    const box = logBox.current;
    if (box && following.current && log.lines.length > 0) box.scrollTop = box.scrollHeight;
  }, [log.lines.length]);
  const onScroll = () => {
    const box = logBox.current;
    if (box) following.current = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  };

  const [highlight, setHighlight] = useState<number>();
  const goTo = (line: number) => {
    following.current = false;
    setHighlight(line);
    document.getElementById(`build-line-${line}`)?.scrollIntoView({ block: 'center' });
  };

  const current = build.data?.build;
  const links = current ? diagnosticLinks(current.diagnostics, log.lines) : [];

  return (
    <div className="stack">
      <section aria-labelledby="build-title">
        <h2 id="build-title">
          Build <code>{buildId.slice(0, 8)}</code> {status ? <BuildStatus status={status} /> : null}
        </h2>
        {build.isPending ? <Loading what="the build" /> : null}
        {build.isError ? <ErrorNotice error={build.error} /> : null}
        {current ? (
          <dl className="facts-list">
            <dt>Draft</dt>
            <dd>revision {current.draftRevision}</dd>
            <dt>Queued</dt>
            <dd>{dateTime(current.queuedAt)}</dd>
            <dt>Compile</dt>
            <dd>{milliseconds(current.buildMs)}</dd>
            <dt>Toolchain</dt>
            <dd>{current.toolchain ?? '—'}</dd>
            <dt>Target</dt>
            <dd>{current.targetTriple ?? current.target}</dd>
          </dl>
        ) : null}
        {current?.errorSummary ? <ErrorNotice error={new Error(current.errorSummary)} title="Why it failed" /> : null}
        {links.length > 0 ? (
          <div className="diagnostics" data-testid="diagnostics">
            <h3>Compiler errors</h3>
            <ul>
              {links.map((link, index) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: the summary is fixed once the build ended; two errors may share a location
                <li key={`${link.location}-${index}`}>
                  {link.location && link.line !== undefined ? (
                    <a
                      href={`#build-line-${link.line}`}
                      onClick={(event) => {
                        event.preventDefault();
                        goTo(link.line as number);
                      }}
                    >
                      <code>{link.location}</code>
                    </a>
                  ) : link.location ? (
                    <code>{link.location}</code>
                  ) : null}{' '}
                  {link.message}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
      </section>
      <section aria-labelledby="build-log-title">
        <h2 id="build-log-title">
          Log{' '}
          <span className={`pill ${log.stream === 'live' ? 'wait' : 'muted'}`} data-testid="log-stream">
            {log.stream === 'live' ? 'live' : log.stream === 'connecting' ? 'connecting' : 'ended'}
          </span>
        </h2>
        {log.error ? <ErrorNotice error={log.error} title="The log stream stopped" /> : null}
        <div className="log" ref={logBox} onScroll={onScroll} role="log" aria-live="off" data-testid="build-log">
          {log.lines.length === 0 && log.stream !== 'ended' ? <div className="muted">Waiting for the first line…</div> : null}
          {log.lines.map((text, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: the log only grows at its end, so a line's place is its identity
            <div key={index} id={`build-line-${index}`} className={`log-line${highlight === index ? ' highlight' : ''}`}>
              {text}
            </div>
          ))}
        </div>
      </section>
    </div>
  );
}
