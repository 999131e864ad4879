import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { dataOf, type Invocation } from '../../api/client';
import { type Columns, DataTable } from '../../components/data-table';
import { dateTime, milliseconds } from '../../components/format';
import { Empty, ErrorNotice, Loading } from '../../components/states';
import { useSession } from '../../session/session';
import { useAppPath, useReleases } from './use-app';

type StatusFilter = 'ok' | 'error' | 'client';

const PAGE = 100;

function statusTone(code: number): string {
  if (code >= 500) return 'bad';
  if (code >= 400) return 'wait';
  return 'good';
}

/** The app's recent invocations, filtered by the API (status, release, cold), newest first. */
export function InvocationsPage() {
  const { api } = useSession();
  const path = useAppPath();
  const releases = useReleases();
  // Filters live in the URL: a filtered view can be linked and survives a reload.
  const [search, setSearch] = useSearchParams();
  const status = (search.get('status') as StatusFilter | null) ?? undefined;
  const release = search.get('release') ? Number(search.get('release')) : undefined;
  const cold = search.get('cold') === 'true' ? true : search.get('cold') === 'false' ? false : undefined;
  // Paging back in time: the invocations before the oldest one shown.
  const before = search.get('before') ?? undefined;
  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value === '') next.delete(name);
    else next.set(name, value);
    if (name !== 'before') next.delete('before');
    setSearch(next, { replace: true });
  };

  const invocations = useQuery({
    queryKey: ['invocations', path.org, path.app, status, release, cold, before],
    queryFn: () =>
      dataOf(
        api.GET('/v1/orgs/{org}/apps/{app}/invocations', {
          params: { path, query: { limit: PAGE, status, release, cold: cold === undefined ? undefined : cold ? 'true' : 'false', before } },
        }),
      ),
    // The newest page follows new invocations; an older one stays as it is.
    refetchInterval: before ? false : 5_000,
  });
  const shown = invocations.data?.invocations ?? [];
  const oldest = shown.at(-1);

  const columns: Columns<Invocation> = [
    { id: 'time', header: 'Time', cell: ({ row }) => dateTime(row.original.createdAt) },
    {
      id: 'status',
      header: 'Status',
      cell: ({ row }) => <span className={`pill ${statusTone(row.original.statusCode)}`}>{row.original.statusCode}</span>,
    },
    { id: 'duration', header: 'Duration', cell: ({ row }) => milliseconds(row.original.durationMs) },
    {
      id: 'start',
      header: 'Start',
      cell: ({ row }) => (row.original.cold ? <span className="pill wait">cold</span> : <span className="muted">warm</span>),
    },
    { id: 'release', header: 'Release', cell: ({ row }) => (row.original.releaseNumber === null ? '—' : `#${row.original.releaseNumber}`) },
    {
      id: 'execution',
      header: 'Execution id',
      cell: ({ row }) => (
        <Link to={`/apps/${path.app}/invocations/${row.original.executionId}`}>
          <code>{row.original.executionId}</code>
        </Link>
      ),
    },
    { id: 'error', header: 'Error', cell: ({ row }) => (row.original.error ? <span className="bad">{row.original.error}</span> : null) },
  ];

  return (
    <section aria-labelledby="invocations-title" className="stack">
      <h2 id="invocations-title">Invocations</h2>
      <fieldset className="filters">
        <legend className="visually-hidden">Filters</legend>
        <label>
          Status{' '}
          <select value={status ?? ''} onChange={(event) => setFilter('status', event.target.value)}>
            <option value="">any</option>
            <option value="ok">succeeded (&lt; 400)</option>
            <option value="error">failed (5xx)</option>
            <option value="client">refused (4xx)</option>
          </select>
        </label>
        <label>
          Release{' '}
          <select value={release ?? ''} onChange={(event) => setFilter('release', event.target.value)}>
            <option value="">any</option>
            {releases.data?.releases.map((each) => (
              <option key={each.id} value={each.number}>
                #{each.number}
              </option>
            ))}
          </select>
        </label>
        <label>
          Start{' '}
          <select value={cold === undefined ? '' : String(cold)} onChange={(event) => setFilter('cold', event.target.value)}>
            <option value="">any</option>
            <option value="true">cold</option>
            <option value="false">warm</option>
          </select>
        </label>
      </fieldset>
      {invocations.isPending ? <Loading what="invocations" /> : null}
      {invocations.isError ? <ErrorNotice error={invocations.error} title="Cannot list the invocations" /> : null}
      {invocations.isSuccess && invocations.data.invocations.length === 0 ? (
        <Empty title={search.size > 0 ? 'No invocation matches these filters.' : 'No invocations yet.'}>
          {search.size > 0 ? 'Change or clear the filters.' : <Link to={`/apps/${path.app}/invoke`}>Invoke it</Link>}
        </Empty>
      ) : null}
      {invocations.isSuccess && invocations.data.invocations.length > 0 ? (
        <DataTable
          caption="Invocations"
          columns={columns}
          rows={invocations.data.invocations}
          rowId={(invocation) => invocation.executionId}
        />
      ) : null}
      <div className="actions">
        {before ? (
          <button type="button" className="secondary" onClick={() => setFilter('before', '')}>
            Newest
          </button>
        ) : null}
        {oldest && shown.length === PAGE ? (
          <button type="button" className="secondary" onClick={() => setFilter('before', oldest.createdAt)}>
            Older
          </button>
        ) : null}
      </div>
    </section>
  );
}
