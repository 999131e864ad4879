import { OutageProxy, testDatabaseUrl, waitFor } from '@ignite/testing';
import { steps, type TestApi, TestEnv } from './harness';

/** Postgres going away and coming back (a restart): the API answers 503 JSON meanwhile, never hangs, and serves again by itself. */
describe('database outage (e2e)', () => {
  const env = new TestEnv();
  const database = new URL(testDatabaseUrl());
  const proxy = new OutageProxy(database.hostname, Number(database.port || 5432));
  let api: TestApi;
  let org: { id: string; slug: string; key: string };

  beforeAll(async () => {
    await env.setup();
    await proxy.up();
    api = await env.start({ DATABASE_URL: proxy.urlFor(testDatabaseUrl()) });
    org = await env.org();
    await steps.createApp(api, org, 'kept');
  });

  afterAll(async () => {
    await proxy.down();
    await env.teardown();
  });

  it('answers 503 naming the database while Postgres is down, and serves again once it is back', async () => {
    const list = () => api.call('GET', `/v1/orgs/${org.slug}/apps`, { key: org.key });
    expect((await list()).status).toBe(200);

    await proxy.down();
    const started = Date.now();
    const refused = await list();
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(refused.status).toBe(503);
    expect(refused.json).toEqual({
      error: expect.stringContaining('the database is unreachable'),
      code: 'unavailable',
      dependency: 'postgres',
    });
    const created = await api.call('POST', `/v1/orgs/${org.slug}/apps`, { key: org.key, json: { name: 'later', runtime: 'rust' } });
    expect(created.status).toBe(503);
    expect((await api.call('GET', '/readyz')).status).toBe(503);

    await proxy.up();
    const back = await waitFor(
      async () => {
        const reply = await list();
        return reply.status === 200 ? reply : undefined;
      },
      10_000,
      'the API serving again',
    );
    expect(back.json.apps.map((app: { name: string }) => app.name)).toEqual(['kept']);
    await steps.createApp(api, org, 'later');
  });
});
