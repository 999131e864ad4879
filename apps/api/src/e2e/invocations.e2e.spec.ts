import { randomUUID } from 'node:crypto';
import { FunctionTimelineSchema, InvocationViewSchema } from '@ignite/contracts';
import { RUST_PROJECT, tarGz } from './archives';
import { steps, type TestApi, TestEnv } from './harness';

const MINUTE = 60_000;

/**
 * What a console reads of a function's invocations: the list filtered and paged, and the timeline
 * of its figures. The invocation rows are written directly, at known times, as the consumer would.
 */
describe('invocations: filters and timeline (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let org: { id: string; slug: string; key: string };
  let appId: string;
  let release1: string;
  let release2: string;
  // Execution ids are unique across apps: this file's own.
  const run = randomUUID().slice(0, 8);
  const base = (app = 'fn') => `/v1/orgs/${org.slug}/apps/${app}`;

  interface Record {
    id: string;
    release: string | null;
    status: number;
    at: Date;
    cold?: boolean;
    durationMs?: number;
  }
  async function insert(app: string, records: Record[]): Promise<void> {
    await env.prisma.invocation.createMany({
      data: records.map((r) => ({
        executionId: `${run}-${r.id}`,
        appId: app,
        releaseId: r.release,
        statusCode: r.status,
        durationMs: r.durationMs ?? 10,
        cold: r.cold ?? false,
        error: r.status >= 400 ? 'failed' : null,
        createdAt: r.at,
      })),
    });
  }

  const idsOf = (reply: { json: { invocations: { executionId: string }[] } }) =>
    reply.json.invocations.map((invocation) => invocation.executionId.slice(run.length + 1));

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
    org = await env.org();
    for (const name of ['fn', 'charted', 'other']) {
      await steps.createApp(api, org, name);
      await steps.saveDraft(api, org, name, tarGz(RUST_PROJECT));
      await steps.succeed(env, await steps.compile(api, org, name));
      expect((await steps.publish(api, org, name)).status).toBe(201);
      expect((await steps.publish(api, org, name)).status).toBe(201);
    }
    const app = await env.prisma.app.findFirstOrThrow({
      where: { orgId: org.id, name: 'fn' },
      include: { releases: { orderBy: { number: 'asc' } } },
    });
    appId = app.id;
    [release1, release2] = app.releases.map((release) => release.id) as [string, string];
    await steps.createApp(api, org, 'quiet');
  });

  afterAll(async () => {
    await env.teardown();
  });

  describe('the list', () => {
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * MINUTE);

    beforeAll(async () => {
      await insert(appId, [
        { id: 'ok-old', release: release1, status: 200, at: at(50), cold: true },
        { id: 'redirect', release: release1, status: 302, at: at(40) },
        { id: 'bad-request', release: release1, status: 400, at: at(30) },
        { id: 'not-found', release: release2, status: 404, at: at(20), cold: true },
        { id: 'failed', release: release2, status: 500, at: at(10) },
        { id: 'unavailable', release: null, status: 503, at: at(5), cold: true },
        { id: 'ok-new', release: release2, status: 200, at: at(1) },
      ]);
    });

    const list = (query: string) => api.call('GET', `${base()}/invocations${query}`, { key: org.key });

    it('keeps its answer without filters: every invocation, most recent first', async () => {
      const reply = await list('');
      expect(reply.status).toBe(200);
      expect(idsOf(reply)).toEqual(['ok-new', 'unavailable', 'failed', 'not-found', 'bad-request', 'redirect', 'ok-old']);
      for (const invocation of reply.json.invocations) InvocationViewSchema.parse(invocation);
    });

    it('filters by status: ok below 400, error 5xx, client 4xx', async () => {
      expect(idsOf(await list('?status=ok'))).toEqual(['ok-new', 'redirect', 'ok-old']);
      expect(idsOf(await list('?status=error'))).toEqual(['unavailable', 'failed']);
      expect(idsOf(await list('?status=client'))).toEqual(['not-found', 'bad-request']);
    });

    it('filters by release number and by cold start', async () => {
      expect(idsOf(await list('?release=1'))).toEqual(['bad-request', 'redirect', 'ok-old']);
      expect(idsOf(await list('?release=2'))).toEqual(['ok-new', 'failed', 'not-found']);
      expect(idsOf(await list('?release=3'))).toEqual([]);
      expect(idsOf(await list('?cold=true'))).toEqual(['unavailable', 'not-found', 'ok-old']);
      expect(idsOf(await list('?cold=false'))).toEqual(['ok-new', 'failed', 'bad-request', 'redirect']);
    });

    it('pages with before, and combines every filter with limit', async () => {
      const first = await list('?limit=3');
      expect(idsOf(first)).toEqual(['ok-new', 'unavailable', 'failed']);
      const last = first.json.invocations[2].createdAt as string;
      const second = await list(`?limit=3&before=${encodeURIComponent(last)}`);
      expect(idsOf(second)).toEqual(['not-found', 'bad-request', 'redirect']);
      expect(idsOf(await list(`?before=${encodeURIComponent(at(35).toISOString().replace('Z', '+00:00'))}`))).toEqual([
        'redirect',
        'ok-old',
      ]);

      expect(idsOf(await list('?status=ok&release=1&cold=false'))).toEqual(['redirect']);
      expect(idsOf(await list('?status=error&cold=true&limit=1'))).toEqual(['unavailable']);
      expect(idsOf(await list(`?status=client&release=2&before=${encodeURIComponent(at(15).toISOString())}`))).toEqual(['not-found']);
    });

    it('refuses bad filter values with 400, saying what each must be', async () => {
      const refusals: [string, string][] = [
        ['?status=failed', 'status: status must be one of ok (answered below 400), error (5xx), client (4xx)'],
        ['?release=latest', 'release: release must be a release number (1, 2, ...)'],
        ['?release=0', 'release: release must be a release number (1, 2, ...)'],
        ['?release=1.5', 'release: release must be a release number (1, 2, ...)'],
        ['?cold=yes', 'cold: cold must be true (only cold starts) or false (only warm instances)'],
        ['?before=yesterday', 'before: before must be an ISO 8601 time with its zone, such as 2026-12-07T10:00:00Z'],
        ['?before=2026-12-07T10:00:00', 'before: before must be an ISO 8601 time with its zone, such as 2026-12-07T10:00:00Z'],
      ];
      for (const [query, error] of refusals) {
        const reply = await list(query);
        expect({ query, status: reply.status, code: reply.json.code, error: reply.json.error }).toEqual({
          query,
          status: 400,
          code: 'validation_failed',
          error,
        });
      }
    });
  });

  describe('the timeline', () => {
    let chartedId: string;
    let charted1: string;
    let charted2: string;

    beforeAll(async () => {
      const app = await env.prisma.app.findFirstOrThrow({
        where: { orgId: org.id, name: 'charted' },
        include: { releases: { orderBy: { number: 'asc' } } },
      });
      chartedId = app.id;
      [charted1, charted2] = app.releases.map((release) => release.id) as [string, string];
    });

    const timeline = (query: string, app = 'charted') => api.call('GET', `${base(app)}/stats/timeline${query}`, { key: org.key });

    it('buckets the invocations from since in steps, zero-filled, all releases first and then each release, newest first', async () => {
      const now = Date.now();
      // Mid-bucket times (window 1h, step 10m): the request's own "now" comes a little later.
      const at = (minutesAgo: number) => new Date(now - minutesAgo * MINUTE);
      await insert(chartedId, [
        { id: 'c-before-window', release: charted1, status: 200, at: at(90) },
        { id: 'c-1', release: charted1, status: 200, at: at(55), cold: true, durationMs: 10 },
        { id: 'c-2', release: charted1, status: 500, at: at(54), durationMs: 20 },
        { id: 'c-3', release: charted1, status: 404, at: at(53), durationMs: 30 },
        { id: 'c-4', release: charted2, status: 200, at: at(25), cold: true, durationMs: 4 },
        { id: 'c-5', release: charted2, status: 503, at: at(24), durationMs: 6 },
        { id: 'c-6', release: null, status: 200, at: at(5), durationMs: 8 },
      ]);
      const other = await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name: 'other' }, include: { releases: true } });
      await insert(other.id, [{ id: 'c-other-app', release: other.releases[0]!.id, status: 200, at: at(5) }]);

      const reply = await timeline('?window=1h&step=10m');
      expect(reply.status).toBe(200);
      const view = FunctionTimelineSchema.parse(reply.json.timeline);
      expect(view).toMatchObject({ window: '1h', step: '10m', stepSeconds: 600 });
      const since = Date.parse(view.since);
      expect(Date.parse(view.until) - since).toBe(60 * MINUTE);
      expect(since).toBeGreaterThanOrEqual(now - 60 * MINUTE);

      expect(view.series.map((series) => series.releaseNumber)).toEqual([null, 2, 1]);
      for (const series of view.series) {
        expect(series.points.map((point) => Date.parse(point.at) - since)).toEqual([0, 1, 2, 3, 4, 5].map((i) => i * 10 * MINUTE));
      }
      const [all, second, first] = view.series as [(typeof view.series)[0], (typeof view.series)[0], (typeof view.series)[0]];
      expect(all.points.map((point) => point.invocations)).toEqual([3, 0, 0, 2, 0, 1]);
      expect(second.points.map((point) => point.invocations)).toEqual([0, 0, 0, 2, 0, 0]);
      expect(first.points.map((point) => point.invocations)).toEqual([3, 0, 0, 0, 0, 0]);

      expect(all.points[0]).toEqual({
        at: view.since,
        invocations: 3,
        errors: 1,
        errorRate: 1 / 3,
        coldStarts: 1,
        coldStartRatio: 1 / 3,
        durationMs: { p50: 20, p99: 29.8 },
      });
      expect(all.points[1]).toEqual({
        at: new Date(since + 10 * MINUTE).toISOString(),
        invocations: 0,
        errors: 0,
        errorRate: 0,
        coldStarts: 0,
        coldStartRatio: 0,
        durationMs: { p50: null, p99: null },
      });
      expect(second.points[3]).toMatchObject({ invocations: 2, errors: 1, errorRate: 0.5, coldStarts: 1, coldStartRatio: 0.5 });
      expect(second.points[3]!.durationMs.p50).toBe(5);
      // The invocation of no (or a deleted) release counts in all releases only.
      expect(all.points[5]).toMatchObject({ invocations: 1, errors: 0, durationMs: { p50: 8, p99: 8 } });
    });

    it('picks a round step when none is given, and answers an app without invocations with its one zero series', async () => {
      const defaults: [string, string, number][] = [
        ['', '1m', 60],
        ['?window=90s', '1s', 90],
        ['?window=15m', '10s', 90],
        ['?window=6h', '5m', 72],
        ['?window=1d', '15m', 96],
        ['?window=7d', '2h', 84],
        ['?window=30d', '12h', 60],
        ['?window=365d', '4d', 92],
      ];
      for (const [query, step, points] of defaults) {
        const reply = await timeline(query, 'quiet');
        expect(reply.status).toBe(200);
        const { series, ...rest } = reply.json.timeline;
        expect({ query, step: rest.step, series: series.length, points: series[0].points.length }).toEqual({
          query,
          step,
          series: 1,
          points,
        });
        expect(series[0].releaseNumber).toBeNull();
      }
      // A window that is no multiple of the step: the last bucket runs past until.
      const uneven = (await timeline('?window=25m&step=10m', 'quiet')).json.timeline;
      expect(uneven.series[0].points.length).toBe(3);
    });

    it('refuses a step under 1s, longer than the window, or giving more than 1500 points, saying how to fix it', async () => {
      const refusals: [string, string][] = [
        [
          '?window=1d&step=1s',
          'window 1d in steps of 1s is 86400 points, more than the 1500 a timeline has at most: ask for a longer step (1m gives 1440), a shorter window, or leave step out for a round one',
        ],
        [
          '?window=7d&step=5m',
          'window 7d in steps of 5m is 2016 points, more than the 1500 a timeline has at most: ask for a longer step (10m gives 1008), a shorter window, or leave step out for a round one',
        ],
        ['?step=0s', 'step 0s is shorter than 1s: ask for 1s or more (or leave step out for a round one)'],
        ['?window=1h&step=2h', 'step 2h is longer than the window 1h: ask for a step of at most 1h'],
        ['?window=0m', 'window 0m is empty: ask for at least 1s (15m, 1h, 7d)'],
        ['?step=1w', 'step: step must be a duration: 90s, 10m, 1h, 7d'],
        ['?window=forever', 'window: window must be a duration: 90s, 10m, 1h, 7d'],
      ];
      for (const [query, error] of refusals) {
        const reply = await timeline(query);
        expect({ query, status: reply.status, code: reply.json.code, error: reply.json.error }).toEqual({
          query,
          status: 400,
          code: 'validation_failed',
          error,
        });
      }
      expect((await timeline('?window=1d&step=1m')).status).toBe(200);
      expect((await timeline('', 'missing')).status).toBe(404);
    });
  });
});
