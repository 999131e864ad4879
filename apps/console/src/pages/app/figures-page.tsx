import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { dataOf } from '../../api/client';
import { milliseconds, percent } from '../../components/format';
import { Empty, ErrorNotice, Loading } from '../../components/states';
import { useSession } from '../../session/session';
import { useAppPath } from './use-app';

const WINDOWS = [
  ['1h', 'last hour'],
  ['1d', 'last day'],
] as const;

function Chart({ title, children }: { title: string; children: ReactNode }) {
  return (
    <figure className="chart card">
      <figcaption>{title}</figcaption>
      <div className="chart-body">{children}</div>
    </figure>
  );
}

/** Invocations per minute, error rate, p50/p99 and cold starts over time, for all releases or one. */
export function FiguresPage() {
  const { api } = useSession();
  const path = useAppPath();
  const [search, setSearch] = useSearchParams();
  const window = search.get('window') === '1d' ? '1d' : '1h';
  const releaseParam = search.get('release');
  const set = (name: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value === '') next.delete(name);
    else next.set(name, value);
    setSearch(next, { replace: true });
  };

  const timeline = useQuery({
    queryKey: ['timeline', path.org, path.app, window],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}/stats/timeline', { params: { path, query: { window } } })),
    refetchInterval: 30_000,
  });
  const stats = useQuery({
    queryKey: ['stats', path.org, path.app, window],
    queryFn: () => dataOf(api.GET('/v1/orgs/{org}/apps/{app}/stats', { params: { path, query: { window } } })),
    refetchInterval: 30_000,
  });

  const data = timeline.data?.timeline;
  const wanted = releaseParam === null ? null : Number(releaseParam);
  const series = data?.series.find((each) => each.releaseNumber === wanted);
  const perMinute = data ? 60 / data.stepSeconds : 1;
  const short = window === '1h' ? { hour: '2-digit', minute: '2-digit' } : { weekday: 'short', hour: '2-digit', minute: '2-digit' };
  const points =
    series?.points.map((point) => ({
      at: new Date(point.at).toLocaleTimeString('en-GB', short as Intl.DateTimeFormatOptions),
      perMinute: Math.round(point.invocations * perMinute * 100) / 100,
      errorRate: point.invocations === 0 ? null : Math.round(point.errorRate * 1000) / 10,
      coldStartRatio: point.invocations === 0 ? null : Math.round(point.coldStartRatio * 1000) / 10,
      p50: point.durationMs.p50,
      p99: point.durationMs.p99,
    })) ?? [];
  const totals = wanted === null ? stats.data?.stats : stats.data?.stats.releases.find((each) => each.releaseNumber === wanted);

  return (
    <section aria-labelledby="figures-title" className="stack">
      <h2 id="figures-title">Figures</h2>
      <fieldset className="filters">
        <legend className="visually-hidden">Window and release</legend>
        <label>
          Window{' '}
          <select value={window} onChange={(event) => set('window', event.target.value === '1h' ? '' : event.target.value)}>
            {WINDOWS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Release{' '}
          <select value={releaseParam ?? ''} onChange={(event) => set('release', event.target.value)}>
            <option value="">all releases</option>
            {data?.series
              .filter((each) => each.releaseNumber !== null)
              .map((each) => (
                <option key={each.releaseNumber} value={String(each.releaseNumber)}>
                  #{each.releaseNumber}
                </option>
              ))}
          </select>
        </label>
      </fieldset>
      {timeline.isPending ? <Loading what="figures" /> : null}
      {timeline.isError ? <ErrorNotice error={timeline.error} title="Cannot show the figures" /> : null}
      {stats.isError ? <ErrorNotice error={stats.error} /> : null}
      {totals ? (
        <dl className="tiles" data-testid="figures-totals">
          <div>
            <dt>Invocations</dt>
            <dd>{totals.invocations.toLocaleString('en')}</dd>
          </div>
          <div>
            <dt>Error rate</dt>
            <dd className={totals.errorRate > 0 ? 'bad' : undefined}>{percent(totals.errorRate)}</dd>
          </div>
          <div>
            <dt>p50 / p99</dt>
            <dd>
              {milliseconds(totals.durationMs.p50)} / {milliseconds(totals.durationMs.p99)}
            </dd>
          </div>
          <div>
            <dt>Cold starts</dt>
            <dd>{percent(totals.coldStartRatio)}</dd>
          </div>
        </dl>
      ) : null}
      {timeline.isSuccess && !series ? <Empty title="No invocations of this release in the window." /> : null}
      {series ? (
        <div className="charts">
          <Chart title="Invocations per minute">
            <ResponsiveContainer width="100%" height={200}>
              <BarChart data={points}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="at" minTickGap={24} fontSize={11} />
                <YAxis allowDecimals fontSize={11} width={40} />
                <Tooltip />
                <Bar dataKey="perMinute" name="per minute" fill="#2563eb" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </Chart>
          <Chart title="Error rate (%)">
            <ResponsiveContainer width="100%" height={200}>
              <LineChart data={points}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="at" minTickGap={24} fontSize={11} />
                <YAxis domain={[0, 100]} fontSize={11} width={40} />
                <Tooltip />
                <Line dataKey="errorRate" name="errors %" stroke="#dc2626" dot={{ r: 2 }} connectNulls isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </Chart>
          <Chart title="Duration (ms)">
            <ResponsiveContainer width="100%" height={200}>
              <LineChart data={points}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="at" minTickGap={24} fontSize={11} />
                <YAxis fontSize={11} width={40} />
                <Tooltip />
                <Legend />
                <Line dataKey="p50" name="p50" stroke="#2563eb" dot={{ r: 2 }} connectNulls isAnimationActive={false} />
                <Line dataKey="p99" name="p99" stroke="#9333ea" dot={{ r: 2 }} connectNulls isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </Chart>
          <Chart title="Cold starts (%)">
            <ResponsiveContainer width="100%" height={200}>
              <LineChart data={points}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="at" minTickGap={24} fontSize={11} />
                <YAxis domain={[0, 100]} fontSize={11} width={40} />
                <Tooltip />
                <Line dataKey="coldStartRatio" name="cold %" stroke="#d97706" dot={{ r: 2 }} connectNulls isAnimationActive={false} />
              </LineChart>
            </ResponsiveContainer>
          </Chart>
        </div>
      ) : null}
    </section>
  );
}
