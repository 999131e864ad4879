import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { channels, executionIdAt, invocationStreamFields, packDirectReport } from '@ignite/contracts';
import { waitFor } from '@ignite/testing';
import { RUST_PROJECT, tarGz } from './archives';
import { steps, type TestApi, TestEnv } from './harness';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The connection it came on (the API's end of it). */
  connection: number;
}

/** Stands in for the data plane (the runner's direct port): records what it is sent and answers like it does. */
async function startStubRunner(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        connection: req.socket.remotePort ?? 0,
      });
      res.writeHead(207, {
        'content-type': 'application/json',
        'x-ignite-execution-id': '0190b2a4-7c1e-7000-8000-000000000001',
        'x-ignite-cold': 'true',
        'x-ignite-release': '1',
        'x-ignite-duration-ms': '12.5',
        'x-custom-answer': 'yes',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(JSON.stringify({ echoed: Buffer.concat(chunks).toString('base64') }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('invoke and invocations (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let runner: Awaited<ReturnType<typeof startStubRunner>>;
  let org: { id: string; slug: string; key: string };
  let appId: string;
  let releaseId: string;

  beforeAll(async () => {
    await env.setup();
    runner = await startStubRunner();
    api = await env.start({ RUNNER_DIRECT_URL: runner.url, RUNNER_INTERNAL_TOKEN: 'internal-secret' });
    org = await env.org();

    await steps.createApp(api, org, 'fn');
    await steps.saveDraft(api, org, 'fn', tarGz(RUST_PROJECT));
    await steps.succeed(env, await steps.compile(api, org, 'fn'));
    const published = await steps.publish(api, org, 'fn');
    releaseId = published.json.release.id;
    appId = (await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name: 'fn' } })).id;
  });

  afterAll(async () => {
    await env.teardown();
    await new Promise((resolve) => runner.server.close(resolve));
  });

  it('forwards every invocation to the data plane, which checks the key and the app itself: the API reads neither', async () => {
    const before = runner.seen.length;
    const strangers = [
      await api.call('POST', `/v1/orgs/${org.slug}/apps/unpublished/invoke`, { key: org.key, json: {} }),
      await api.call('POST', `/v1/orgs/no-such-org/apps/fn/invoke`, { json: {} }),
      await api.call('POST', `/v1/orgs/${org.slug}/apps/fn/invoke`, { key: 'ign_not-a-key-the-api-knows', json: {} }),
    ];
    expect(strangers.map((reply) => reply.status)).toEqual([207, 207, 207]);
    expect(runner.seen.slice(before).map((seen) => [seen.url, seen.headers.authorization])).toEqual([
      [`/v1/orgs/${org.slug}/apps/unpublished/invoke`, `Bearer ${org.key}`],
      ['/v1/orgs/no-such-org/apps/fn/invoke', undefined],
      [`/v1/orgs/${org.slug}/apps/fn/invoke`, 'Bearer ign_not-a-key-the-api-knows'],
    ]);
  });

  it('keeps a connection per caller and app, so that the data plane can hand it to the program', async () => {
    const other = await env.org();
    const before = runner.seen.length;
    for (let i = 0; i < 3; i++) {
      await api.call('POST', `/v1/orgs/${org.slug}/apps/fn/invoke`, { key: org.key, json: {} });
      await api.call('POST', `/v1/orgs/${org.slug}/apps/other/invoke`, { key: org.key, json: {} });
      await api.call('POST', `/v1/orgs/${other.slug}/apps/fn/invoke`, { key: other.key, json: {} });
    }
    const seen = runner.seen.slice(before);
    const connectionsOf = (url: string, key: string) =>
      new Set(seen.filter((s) => s.url === url && s.headers.authorization === `Bearer ${key}`).map((s) => s.connection));
    const fn = connectionsOf(`/v1/orgs/${org.slug}/apps/fn/invoke`, org.key);
    const otherApp = connectionsOf(`/v1/orgs/${org.slug}/apps/other/invoke`, org.key);
    const otherOrg = connectionsOf(`/v1/orgs/${other.slug}/apps/fn/invoke`, other.key);
    // One kept-alive connection each, none shared.
    expect([fn.size, otherApp.size, otherOrg.size]).toEqual([1, 1, 1]);
    expect(new Set([...fn, ...otherApp, ...otherOrg]).size).toBe(3);
  });

  it('forwards method, path, query, headers and body, and passes the answer through unchanged', async () => {
    const body = JSON.stringify({ message: 'hi there' });
    const reply = await api.call('POST', `/v1/orgs/${org.slug}/apps/fn/invoke/some/path%20x?x=1&y=a%2Fb`, {
      key: org.key,
      body,
      headers: {
        'content-type': 'application/json',
        'x-custom': 'kept',
        'x-request-id': 'req-invoke-1',
        'x-ignite-function-id': 'spoofed/fn',
        'proxy-authorization': 'Basic c2VjcmV0',
      },
    });
    const seen = runner.seen.at(-1)!;
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe(`/v1/orgs/${org.slug}/apps/fn/invoke/some/path%20x?x=1&y=a%2Fb`);
    expect(seen.body.toString()).toBe(body);
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      'x-custom': 'kept',
      'x-request-id': 'req-invoke-1',
      authorization: `Bearer ${org.key}`,
      'content-length': String(Buffer.byteLength(body)),
    });
    // The internal token never rides on a connection the data plane may hand to a program.
    expect(seen.headers['x-ignite-internal-token']).toBeUndefined();
    expect(seen.headers['x-ignite-function-id']).toBeUndefined();
    expect(seen.headers['proxy-authorization']).toBeUndefined();
    expect(seen.headers.host).toBe(new URL(runner.url).host);

    expect(reply.status).toBe(207);
    expect(reply.headers).toMatchObject({
      'content-type': 'application/json',
      'x-ignite-execution-id': '0190b2a4-7c1e-7000-8000-000000000001',
      'x-ignite-cold': 'true',
      'x-ignite-release': '1',
      'x-ignite-duration-ms': '12.5',
      'x-custom-answer': 'yes',
      'set-cookie': ['a=1', 'b=2'],
    });
    expect(reply.json).toEqual({ echoed: Buffer.from(body).toString('base64') });
  });

  it('drops the headers the Connection header names', async () => {
    const url = new URL(`${api.url}/v1/orgs/${org.slug}/apps/fn/invoke/hop`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${org.key}`, connection: 'keep-alive, x-hop', 'x-hop': 'dropped', 'x-kept': 'kept' },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(207);
    const seen = runner.seen.at(-1)!;
    expect(seen.url).toBe(`/v1/orgs/${org.slug}/apps/fn/invoke/hop`);
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('kept');
  });

  it('forwards any method and non-JSON bodies byte for byte', async () => {
    const binary = Buffer.from([0, 1, 2, 250, 251, 252, 255]);
    await api.call('PUT', `/v1/orgs/${org.slug}/apps/fn/invoke`, {
      key: org.key,
      body: binary,
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(runner.seen.at(-1)).toMatchObject({ method: 'PUT', url: `/v1/orgs/${org.slug}/apps/fn/invoke` });
    expect(runner.seen.at(-1)!.body).toEqual(binary);

    const latin = Buffer.from('caf\xe9', 'latin1');
    await api.call('POST', `/v1/orgs/${org.slug}/apps/fn/invoke`, { key: org.key, body: latin, headers: { 'content-type': 'text/plain' } });
    expect(runner.seen.at(-1)!.body).toEqual(latin);

    await api.call('GET', `/v1/orgs/${org.slug}/apps/fn/invoke?only=query`, { key: org.key });
    expect(runner.seen.at(-1)).toMatchObject({ method: 'GET', url: `/v1/orgs/${org.slug}/apps/fn/invoke?only=query` });
    expect(runner.seen.at(-1)!.body.length).toBe(0);

    await api.call('DELETE', `/v1/orgs/${org.slug}/apps/fn/invoke/item/7`, { key: org.key });
    expect(runner.seen.at(-1)).toMatchObject({ method: 'DELETE', url: `/v1/orgs/${org.slug}/apps/fn/invoke/item/7` });
  });

  it('answers 503 JSON naming the runner when it is unreachable', async () => {
    const offline = await env.start({ RUNNER_DIRECT_URL: 'http://127.0.0.1:9' });
    const reply = await offline.call('POST', `/v1/orgs/${org.slug}/apps/fn/invoke`, { key: org.key, json: {} });
    expect(reply.status).toBe(503);
    expect(reply.json).toMatchObject({ code: 'unavailable', runnerUrl: 'http://127.0.0.1:9' });
    expect(reply.json.error).toContain('the runner at http://127.0.0.1:9 is unreachable');
    await offline.close();
  });

  it('records the invocation reports runners add to the stream, once each, and lists them', async () => {
    const stream = channels.invocations(env.prefix);
    const report = (executionId: string, statusCode: number, at: string) => ({
      executionId,
      appId,
      releaseId,
      statusCode,
      durationMs: 3.25,
      cold: statusCode === 200,
      error: statusCode === 200 ? null : 'boom',
      at,
    });
    const hourAgo = recentSecond();
    const first = report(randomUUID(), 200, new Date(hourAgo).toISOString());
    const second = report(randomUUID(), 500, new Date(hourAgo + 1_000).toISOString());
    // A batch entry (what runners write), with a report delivered twice and one that is not a report.
    await env.redis.xadd(stream, '*', 'reports', JSON.stringify([first, second, { not: 'a report' }]));
    // A single-report entry (what earlier runners wrote).
    await env.redis.xadd(stream, '*', 'data', JSON.stringify(first));
    await env.redis.xadd(stream, '*', 'reports', 'not json');
    await env.redis.xadd(stream, '*', 'data', '{"not":"a report"}');
    await env.redis.xadd(stream, '*', 'data', JSON.stringify(report(randomUUID(), 200, 'garbage')));
    await env.redis.xadd(
      stream,
      '*',
      'data',
      JSON.stringify({ ...report(randomUUID(), 200, new Date(hourAgo + 2_000).toISOString()), appId: randomUUID() }),
    );

    const listed = await waitFor(
      async () => {
        const reply = await api.call('GET', `/v1/orgs/${org.slug}/apps/fn/invocations?limit=10`, { key: org.key });
        return reply.json.invocations.length >= 2 ? reply.json.invocations : undefined;
      },
      15_000,
      'the recorded invocations',
    );
    expect(listed).toEqual([
      {
        executionId: second.executionId,
        releaseNumber: 1,
        statusCode: 500,
        durationMs: 3.25,
        cold: false,
        error: 'boom',
        createdAt: second.at,
      },
      { executionId: first.executionId, releaseNumber: 1, statusCode: 200, durationMs: 3.25, cold: true, error: null, createdAt: first.at },
    ]);
    // Every entry is acknowledged, the bad ones included.
    await waitFor(
      async () => {
        const pending = (await env.redis.call('XPENDING', stream, 'api')) as [number, ...unknown[]];
        return Number(pending[0]) === 0 ? true : undefined;
      },
      10_000,
      'all entries acknowledged',
    );
    expect(await env.prisma.invocation.count({ where: { appId } })).toBe(2);

    const limited = await api.call('GET', `/v1/orgs/${org.slug}/apps/fn/invocations?limit=1`, { key: org.key });
    expect(limited.json.invocations).toHaveLength(1);
    expect((await api.call('GET', `/v1/orgs/${org.slug}/apps/fn/invocations?limit=0`, { key: org.key })).status).toBe(400);
  });

  it("records programs' direct reports (a backlog of thousands) and the JSON ones of earlier SDKs", async () => {
    const stream = channels.invocations(env.prefix);
    const { direct, app, release } = invocationStreamFields;
    const before = await env.prisma.invocation.count({ where: { appId } });
    // After the reports of the test before (counted apart from those).
    const at = recentSecond() + 600_000;
    // Two full batches: more reports than one Postgres write takes.
    for (let batch = 0; batch < 2; batch++) {
      const records = Buffer.concat(
        Array.from({ length: 6_000 }, (_, i) =>
          packDirectReport({
            e: executionIdAt(at + i),
            d: 0.25,
            s: i % 100 === 0 ? 500 : 200,
            ...(i % 100 === 0 ? { err: 'boom' } : {}),
          }),
        ),
      );
      await env.redis.xadd(
        stream,
        '*',
        direct,
        JSON.stringify({ type: 'reports', records: records.toString('base64') }),
        app,
        appId,
        release,
        releaseId,
      );
    }
    const old = randomUUID();
    await env.redis.xadd(
      stream,
      '*',
      direct,
      JSON.stringify({ type: 'reports', items: [{ e: old, s: 201, d: 1.5, t: at, c: true }] }),
      app,
      appId,
      release,
      releaseId,
    );

    await waitFor(
      async () => ((await env.prisma.invocation.count({ where: { appId } })) === before + 12_001 ? true : undefined),
      // Not a timing test: on a machine busy with other suites' builds 12k records can take a while.
      80_000,
      'the direct reports recorded',
    );
    expect(await env.prisma.invocation.count({ where: { appId, statusCode: 500, error: 'boom', createdAt: { gte: new Date(at) } } })).toBe(
      120,
    );
    expect(await env.prisma.invocation.findUniqueOrThrow({ where: { executionId: old } })).toMatchObject({
      statusCode: 201,
      durationMs: 1.5,
      cold: true,
      releaseId,
    });
  }, 120_000);
});

/**
 * A whole second an hour ago: within the invocations' retention, since every API another suite
 * starts meanwhile sweeps older invocations of every app.
 */
function recentSecond(): number {
  return Math.floor(Date.now() / 1_000) * 1_000 - 3_600_000;
}
