import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ChangeEvent, useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { type Build, dataOf, type Release } from '../../api/client';
import { ConfirmButton } from '../../components/confirm-button';
import { type Columns, DataTable } from '../../components/data-table';
import { bytes, dateTime, milliseconds, timeAgo } from '../../components/format';
import { Empty, ErrorNotice, Loading } from '../../components/states';
import { useSession } from '../../session/session';
import { BuildStatus } from './build-status';
import { useAppDetail, useAppPath, useReleases } from './use-app';

/** Refreshes everything the console shows of this app after a change. */
function useAppRefresh() {
  const queries = useQueryClient();
  const { org, app } = useAppPath();
  return () =>
    Promise.all([
      queries.invalidateQueries({ queryKey: ['app', org, app] }),
      queries.invalidateQueries({ queryKey: ['releases', org, app] }),
      queries.invalidateQueries({ queryKey: ['builds', org, app] }),
      queries.invalidateQueries({ queryKey: ['apps', org] }),
    ]);
}

function ReleasesSection({ builds }: { builds: Build[] }) {
  const { api } = useSession();
  const path = useAppPath();
  const refresh = useAppRefresh();
  const releases = useReleases();
  const buildOf = (release: Release) => builds.find((build) => build.id === release.buildId);
  const activate = (number: number) =>
    dataOf(api.POST('/v1/orgs/{org}/apps/{app}/releases/{number}/activate', { params: { path: { ...path, number } } })).then(refresh);

  const columns: Columns<Release> = [
    { id: 'number', header: 'Release', cell: ({ row }) => <strong>#{row.original.number}</strong> },
    {
      id: 'build',
      header: 'Build',
      cell: ({ row }) => <Link to={`/apps/${path.app}/builds/${row.original.buildId}`}>{row.original.buildId.slice(0, 8)}</Link>,
    },
    { id: 'toolchain', header: 'Toolchain', cell: ({ row }) => buildOf(row.original)?.toolchain ?? <span className="muted">—</span> },
    { id: 'size', header: 'Size', cell: ({ row }) => bytes(row.original.artifactSize) },
    {
      id: 'when',
      header: 'Published',
      cell: ({ row }) => <span title={dateTime(row.original.createdAt)}>{timeAgo(row.original.createdAt)}</span>,
    },
    {
      id: 'active',
      header: 'Active',
      cell: ({ row }) =>
        row.original.active ? (
          <span className="pill good">active</span>
        ) : (
          <ConfirmButton
            label={`Activate #${row.original.number}`}
            title={`Make release #${row.original.number} the active one?`}
            confirmLabel={`Activate #${row.original.number}`}
            action={() => activate(row.original.number)}
          >
            Invocations are served by release #{row.original.number} from now on (the data plane switches at once). You can switch back the
            same way.
          </ConfirmButton>
        ),
    },
  ];

  return (
    <section aria-labelledby="releases-title">
      <h2 id="releases-title">Releases</h2>
      {releases.isPending ? <Loading what="releases" /> : null}
      {releases.isError ? <ErrorNotice error={releases.error} /> : null}
      {releases.isSuccess && releases.data.releases.length === 0 ? (
        <Empty title="Nothing published yet.">Publish a succeeded build below.</Empty>
      ) : null}
      {releases.isSuccess && releases.data.releases.length > 0 ? (
        <DataTable
          caption="Releases"
          columns={columns}
          rows={releases.data.releases}
          rowId={(release) => release.id}
          rowClass={(release) => (release.active ? 'active-row' : undefined)}
        />
      ) : null}
    </section>
  );
}

function DraftSection({ builds }: { builds: Build[] }) {
  const { api } = useSession();
  const path = useAppPath();
  const detail = useAppDetail();
  const refresh = useAppRefresh();
  const navigate = useNavigate();
  const [uploadError, setUploadError] = useState<unknown>();

  const upload = useMutation({
    mutationFn: (file: File) =>
      dataOf(
        api.PUT('/v1/orgs/{org}/apps/{app}/draft', {
          params: { path },
          body: file as never,
          bodySerializer: (body: unknown) => body as BodyInit,
          headers: { 'content-type': file.name.endsWith('.zip') ? 'application/zip' : 'application/gzip' },
        }),
      ),
    onSuccess: refresh,
    onError: setUploadError,
  });
  const compile = useMutation({
    mutationFn: () => dataOf(api.POST('/v1/orgs/{org}/apps/{app}/builds', { params: { path } })),
    onSuccess: async (queued) => {
      await refresh();
      navigate(`/apps/${path.app}/builds/${queued.build.id}`);
    },
  });
  const publish = useMutation({
    mutationFn: (buildId: string) => dataOf(api.POST('/v1/orgs/{org}/apps/{app}/releases', { params: { path }, body: { buildId } })),
    onSuccess: refresh,
  });

  const releases = useReleases();
  const released = new Set(releases.data?.releases.map((release) => release.buildId));
  const draft = detail.data?.app.draft ?? null;
  const onFile = (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    setUploadError(undefined);
    if (file) upload.mutate(file);
    event.target.value = '';
  };

  const columns: Columns<Build> = [
    { id: 'status', header: 'Status', cell: ({ row }) => <BuildStatus status={row.original.status} /> },
    {
      id: 'id',
      header: 'Build',
      cell: ({ row }) => <Link to={`/apps/${path.app}/builds/${row.original.id}`}>{row.original.id.slice(0, 8)}</Link>,
    },
    { id: 'revision', header: 'Draft', cell: ({ row }) => `rev ${row.original.draftRevision}` },
    {
      id: 'queued',
      header: 'Queued',
      cell: ({ row }) => <span title={dateTime(row.original.queuedAt)}>{timeAgo(row.original.queuedAt)}</span>,
    },
    { id: 'took', header: 'Compile', cell: ({ row }) => milliseconds(row.original.buildMs) },
    { id: 'toolchain', header: 'Toolchain', cell: ({ row }) => row.original.toolchain ?? <span className="muted">—</span> },
    {
      id: 'publish',
      header: 'Publish',
      cell: ({ row }) =>
        row.original.status === 'succeeded' && !released.has(row.original.id) ? (
          <button type="button" className="secondary" disabled={publish.isPending} onClick={() => publish.mutate(row.original.id)}>
            Publish
          </button>
        ) : null,
    },
  ];

  return (
    <section aria-labelledby="draft-title">
      <h2 id="draft-title">Draft and builds</h2>
      <div className="card draft">
        {draft ? (
          <p>
            Draft revision <strong>{draft.revision}</strong>, {bytes(draft.size)} {draft.format}, saved {timeAgo(draft.updatedAt)}.
          </p>
        ) : (
          <p>
            No draft yet: upload a <code>.tar.gz</code> or <code>.zip</code> of the function's folder, or run{' '}
            <code>
              dodil ignite draft save {path.org}:{path.app} --code ./
            </code>
            .
          </p>
        )}
        <div className="actions">
          <label className="button secondary file-button">
            {upload.isPending ? 'Uploading…' : 'Upload archive'}
            <input type="file" accept=".tar.gz,.tgz,.zip,application/gzip,application/zip" onChange={onFile} className="visually-hidden" />
          </label>
          <button type="button" className="primary" disabled={!draft || compile.isPending} onClick={() => compile.mutate()}>
            {compile.isPending ? 'Queueing…' : 'Compile draft'}
          </button>
        </div>
        {uploadError ? <ErrorNotice error={uploadError} title="Not uploaded" /> : null}
        {compile.isError ? <ErrorNotice error={compile.error} title="Not compiled" /> : null}
        {publish.isError ? <ErrorNotice error={publish.error} title="Not published" /> : null}
      </div>
      {builds.length === 0 ? (
        <Empty title="No builds yet." />
      ) : (
        <DataTable caption="Builds" columns={columns} rows={builds} rowId={(build) => build.id} />
      )}
    </section>
  );
}

function SettingsSection() {
  const detail = useAppDetail();
  const app = detail.data?.app;
  if (!app) return null;
  const names = Object.keys(app.env);
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <dl className="facts-list">
        <dt>Time limit</dt>
        <dd>{app.timeoutMs === null ? "runner's default" : `${app.timeoutMs} ms`}</dd>
        <dt>Memory</dt>
        <dd>{app.memoryMb === null ? "runner's default" : `${app.memoryMb} MiB`}</dd>
        <dt>Rate limit</dt>
        <dd>{app.rateLimitPerSecond === null ? "runner's default" : `${app.rateLimitPerSecond}/s`}</dd>
        <dt>Concurrency</dt>
        <dd>{app.concurrencyLimit === null ? "runner's default" : app.concurrencyLimit}</dd>
        <dt>Environment</dt>
        <dd>{names.length === 0 ? 'none' : names.map((name) => <code key={name}>{name} </code>)}</dd>
        <dt>Created</dt>
        <dd>{dateTime(app.createdAt)}</dd>
      </dl>
    </section>
  );
}

function DangerSection() {
  const { api } = useSession();
  const path = useAppPath();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const remove = async () => {
    await dataOf(api.DELETE('/v1/orgs/{org}/apps/{app}', { params: { path } }));
    await queries.invalidateQueries({ queryKey: ['apps', path.org] });
    navigate('/');
  };
  return (
    <section aria-labelledby="danger-title" className="danger-zone">
      <h2 id="danger-title">Delete</h2>
      <ConfirmButton label="Delete app" title={`Delete ${path.app}?`} confirmLabel={`Delete ${path.app}`} action={remove} danger>
        The app, its draft, builds, releases, invocations and logs are deleted for good. Its invoke URL answers 404 from now on.
      </ConfirmButton>
    </section>
  );
}

export function OverviewPage() {
  const { api } = useSession();
  const path = useAppPath();
  // Refetched while a build is in flight, so its row's status follows the build.
  const builds = useQuery({
    queryKey: ['builds', path.org, path.app],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}/builds', { params: { path, query: { limit: 200 } } })),
    refetchInterval: (query) =>
      query.state.data?.builds.some((build) => build.status === 'queued' || build.status === 'running') ? 2_000 : false,
  });
  const list = builds.data?.builds ?? [];
  return (
    <div className="stack">
      {builds.isError ? <ErrorNotice error={builds.error} title="Cannot list the builds" /> : null}
      <ReleasesSection builds={list} />
      <DraftSection builds={list} />
      <SettingsSection />
      <DangerSection />
    </div>
  );
}
