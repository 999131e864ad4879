import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { dataOf } from '../../api/client';
import { dateTime, milliseconds } from '../../components/format';
import { Empty, ErrorNotice, Loading } from '../../components/states';
import { useSession } from '../../session/session';
import { LogLines } from './log-lines';
import { useAppPath } from './use-app';

/** One invocation: its record and its log lines. */
export function InvocationPage() {
  const { executionId } = useParams();
  if (!executionId) throw new Error('InvocationPage outside …/invocations/:executionId');
  const { api } = useSession();
  const path = useAppPath();
  const invocation = useQuery({
    queryKey: ['invocation', path.org, path.app, executionId],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}/invocations/{executionId}', { params: { path: { ...path, executionId } } })),
    // Its lines travel apart from its record: look again for a little while after it ended.
    refetchInterval: (query) =>
      query.state.dataUpdatedAt - Date.parse(query.state.data?.invocation.createdAt ?? '0') < 10_000 ? 1_000 : false,
  });
  return (
    <section aria-labelledby="invocation-title" className="stack">
      <p>
        <Link to={`/apps/${path.app}/invocations`}>← Invocations</Link>
      </p>
      <h2 id="invocation-title">
        Invocation <code>{executionId}</code>
      </h2>
      {invocation.isPending ? <Loading what="the invocation" /> : null}
      {invocation.isError ? <ErrorNotice error={invocation.error} /> : null}
      {invocation.isSuccess ? (
        <>
          <dl className="facts-list">
            <dt>Time</dt>
            <dd>{dateTime(invocation.data.invocation.createdAt)}</dd>
            <dt>Status</dt>
            <dd>{invocation.data.invocation.statusCode}</dd>
            <dt>Duration</dt>
            <dd>{milliseconds(invocation.data.invocation.durationMs)}</dd>
            <dt>Start</dt>
            <dd>{invocation.data.invocation.cold ? 'cold' : 'warm'}</dd>
            <dt>Release</dt>
            <dd>{invocation.data.invocation.releaseNumber === null ? '—' : `#${invocation.data.invocation.releaseNumber}`}</dd>
            {invocation.data.invocation.error ? (
              <>
                <dt>Error</dt>
                <dd className="bad">{invocation.data.invocation.error}</dd>
              </>
            ) : null}
          </dl>
          <h3>Log lines</h3>
          {invocation.data.invocation.logs.length === 0 ? (
            <Empty title="This invocation wrote no log lines." />
          ) : (
            <LogLines app={path.app} lines={invocation.data.invocation.logs} linkExecutions={false} />
          )}
          {invocation.data.invocation.logsTruncated ? (
            <p className="muted">
              Only the first 1,000 lines are shown:{' '}
              <code>
                dodil ignite logs {path.org}:{path.app} --execution {executionId}
              </code>{' '}
              pages through all.
            </p>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
