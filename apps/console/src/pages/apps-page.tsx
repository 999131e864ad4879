import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { type App, dataOf } from '../api/client';
import { type Columns, DataTable } from '../components/data-table';
import { percent, timeAgo } from '../components/format';
import { Empty, ErrorNotice, Loading } from '../components/states';
import { useSession } from '../session/session';
import { CreateAppForm } from './create-app-form';

/** One app's last hour, in its row: each row asks for its own figures. */
function LastHour({ app, show }: { app: string; show: 'invocations' | 'errorRate' }) {
  const { api, org } = useSession();
  const stats = useQuery({
    queryKey: ['stats', org, app, '1h'],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}/stats', { params: { path: { org, app }, query: { window: '1h' } } })),
    refetchInterval: 30_000,
  });
  if (stats.isPending) return <span className="muted">…</span>;
  if (stats.isError)
    return (
      <span className="muted" title={stats.error.message}>
        ?
      </span>
    );
  const figures = stats.data.stats;
  if (show === 'invocations') return <>{figures.invocations.toLocaleString('en')}</>;
  return <span className={figures.errorRate > 0 ? 'bad' : undefined}>{figures.invocations === 0 ? '—' : percent(figures.errorRate)}</span>;
}

const columns: Columns<App> = [
  { id: 'name', header: 'App', cell: ({ row }) => <Link to={`/apps/${row.original.name}`}>{row.original.name}</Link> },
  { id: 'target', header: 'Target', cell: ({ row }) => <span className="pill">{row.original.rustTarget}</span> },
  {
    id: 'release',
    header: 'Active release',
    cell: ({ row }) =>
      row.original.activeReleaseNumber === null ? <span className="muted">none</span> : `#${row.original.activeReleaseNumber}`,
  },
  {
    id: 'deployed',
    header: 'Last deploy',
    cell: ({ row }) => <span title={row.original.lastReleasedAt ?? ''}>{timeAgo(row.original.lastReleasedAt)}</span>,
  },
  { id: 'invocations', header: 'Invocations (1 h)', cell: ({ row }) => <LastHour app={row.original.name} show="invocations" /> },
  { id: 'errors', header: 'Error rate (1 h)', cell: ({ row }) => <LastHour app={row.original.name} show="errorRate" /> },
];

export function AppsPage() {
  const { api, org } = useSession();
  const apps = useQuery({
    queryKey: ['apps', org],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps', { params: { path: { org } } })),
  });

  return (
    <>
      <div className="page-head">
        <h1>Apps</h1>
      </div>
      <CreateAppForm />
      {apps.isPending ? <Loading what="apps" /> : null}
      {apps.isError ? <ErrorNotice error={apps.error} title="Cannot list the apps" /> : null}
      {apps.isSuccess && apps.data.apps.length === 0 ? (
        <Empty title="No apps yet.">
          Create one above, or from a terminal: <code>dodil ignite init hello && cd hello && dodil ignite deploy {org}:hello --yes</code>
        </Empty>
      ) : null}
      {apps.isSuccess && apps.data.apps.length > 0 ? (
        <DataTable caption="Your apps" columns={columns} rows={apps.data.apps} rowId={(app) => app.id} />
      ) : null}
    </>
  );
}
