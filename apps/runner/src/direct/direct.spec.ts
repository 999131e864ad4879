jest.mock('uuid', () => require('../testing/uuid-v7'));

import type { PrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, waitFor } from '@ignite/testing';
import type { Redis } from 'ioredis';
import { Client, Pool } from 'undici';
import { buildFixtures, type FixturePrograms } from '../testing/fixtures';
import {
  cleanup,
  invoke,
  publish,
  reportsOf,
  type SeededFunction,
  seedFunction,
  startRunner,
  type TestRunner,
  testPrisma,
} from '../testing/harness';

jest.setTimeout(120_000);

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read as loose JSON
  json: any;
  text: string;
}

/** One request on a keep-alive connection (a `Client` is one connection, a `Pool` several). */
async function call(
  connection: Client | Pool,
  fn: Pick<SeededFunction, 'functionId'>,
  body: unknown,
  init: { method?: string; path?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const response = await connection.request({
    method: (init.method ?? 'POST') as 'POST',
    path: `/v1/invoke/${fn.functionId}${init.path ?? ''}`,
    headers: { 'content-type': 'application/json', ...init.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.statusCode, headers: response.headers, json, text };
}

describe('direct connections: the program serves the caller’s connection itself', () => {
  let programs: FixturePrograms;
  let prisma: PrismaClient;
  let redis: Redis;
  let t: TestRunner;
  const seeded: SeededFunction[] = [];
  const clients: (Client | Pool)[] = [];
  const seed = async (options: Parameters<typeof seedFunction>[2]) => {
    const fn = await seedFunction(prisma, t.store, options);
    seeded.push(fn);
    return fn;
  };
  const connect = (connections = 1) => {
    const client = connections === 1 ? new Client(t.directUrl) : new Pool(t.directUrl, { connections });
    clients.push(client);
    return client;
  };
  const handoffs = async () => {
    const text = await (await fetch(`${t.url}/metrics`)).text();
    return Number(/^ignite_runner_direct_handoffs_total (\d+)/m.exec(text)?.[1] ?? 'NaN');
  };

  beforeAll(async () => {
    programs = await buildFixtures();
    prisma = testPrisma();
    redis = createRedis(testRedisUrl());
    t = await startRunner({ RUNNER_MEMORY_CHECK_INTERVAL_MS: '50', RUNNER_DIRECT_IDLE_MS: '1500', RUNNER_QUEUE_WAIT_MS: '20000' });
  }, 900_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await t?.stop();
    redis?.disconnect();
    if (prisma) {
      await cleanup(prisma, seeded);
      await prisma.$disconnect();
    }
  });

  it('serves every request of a connection in the program: the contract JSON, the invocation headers, reports', async () => {
    const hello = await seed({ program: programs.hello, app: 'hello' });
    const before = await handoffs();
    const client = connect();
    const first = await call(client, hello, { message: 'hi there' });
    expect(first.status).toBe(200);
    const executionId = String(first.headers['x-ignite-execution-id']);
    expect(executionId).toMatch(UUID_V7);
    expect(first.json).toEqual({ message: 'hi there', execution_id: executionId, function_id: hello.functionId });
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['x-ignite-cold']).toBe('true');
    expect(first.headers['x-ignite-release']).toBe('1');
    expect(Number(first.headers['x-ignite-duration-ms'])).toBeGreaterThanOrEqual(0);

    const ids = [executionId];
    for (let i = 0; i < 20; i++) {
      const next = await call(client, hello, {});
      expect(next.status).toBe(200);
      expect(next.headers['x-ignite-cold']).toBe('false');
      ids.push(String(next.headers['x-ignite-execution-id']));
    }
    expect(new Set(ids).size).toBe(21);
    // One handoff for the connection, then the runner was out of the way.
    expect((await handoffs()) - before).toBe(1);

    const reports = [...(await reportsOf(t.prefix, ids)).values()];
    expect(reports.find((r) => r.executionId === executionId)).toMatchObject({
      appId: hello.appId,
      releaseId: hello.releaseId,
      statusCode: 200,
      cold: true,
      error: null,
    });
  });

  it('hands the handler the method, sub-path, query, headers and body, never a caller-supplied platform header', async () => {
    const semantics = await seed({ program: programs.semantics });
    const client = connect();
    const answer = await call(
      client,
      semantics,
      { action: 'echo', n: 1 },
      {
        method: 'PUT',
        path: '/orders/42?name=ada&tag=x',
        headers: { 'X-Test-Header': 'yes', 'x-ignite-execution-id': 'forged', 'x-ignite-function-id': 'other/app' },
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({
      method: 'PUT',
      path: '/orders/42',
      query: 'name=ada&tag=x',
      name: 'ada',
      tag: 'x',
      header: 'yes',
      body: { action: 'echo', n: 1 },
      function_id: semantics.functionId,
    });
    expect(answer.json.execution_id).toMatch(UUID_V7);
    expect(answer.json.execution_id).toBe(answer.headers['x-ignite-execution-id']);
  });

  it('turns Err and panic into 500 {"error"} and keeps serving the connection', async () => {
    const semantics = await seed({ program: programs.semantics });
    const client = connect();
    const err = await call(client, semantics, { action: 'err', message: 'order not paid' });
    expect({ status: err.status, json: err.json }).toEqual({ status: 500, json: { error: 'order not paid' } });
    const panic = await call(client, semantics, { action: 'panic', message: 'boom' });
    expect({ status: panic.status, json: panic.json }).toEqual({ status: 500, json: { error: 'boom' } });
    expect((await call(client, semantics, { action: 'echo' })).status).toBe(200);
    const bad = await call(client, semantics, '{"action": nope');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: expect.stringContaining('not valid JSON') });
  });

  it('answers 421 on a connection bound to another function, and closes it', async () => {
    const [a, b] = [await seed({ program: programs.hello }), await seed({ program: programs.hello })];
    const client = connect();
    expect((await call(client, a, {})).status).toBe(200);
    const elsewhere = await call(client, b, {});
    expect(elsewhere.status).toBe(421);
    expect(elsewhere.json).toEqual({
      error: `this connection is bound to ${a.functionId}; /v1/invoke/${b.functionId} is not one of its invocations: send it on a new connection`,
      code: 'misdirected_request',
    });
    expect(elsewhere.headers.connection).toBe('close');
    // undici opens a new connection, which the runner routes to b.
    const again = await call(client, b, {});
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ function_id: b.functionId });
  });

  it('leaves what it cannot hand over to the runner’s HTTP server, which answers as on its own port', async () => {
    const client = connect();
    const unknown = await call(client, { functionId: 'no-such-org/no-such-app' }, {});
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: 'no app no-such-org/no-such-app', code: 'not_found' });
    const health = await client.request({ method: 'GET', path: '/healthz' });
    expect({ status: health.statusCode, body: await health.body.json() }).toEqual({ status: 200, body: { status: 'ok' } });
    const unpublished = await seed({});
    const none = await call(client, unpublished, {});
    expect(none.status).toBe(404);
    expect(none.json).toMatchObject({ code: 'not_found' });
  });

  it('answers 504 past the time limit from the program itself, and stops that instance once the rest is answered', async () => {
    const sleepy = await seed({ program: programs.semantics, timeoutMs: 500 });
    const hello = await seed({ program: programs.hello });
    const [slowClient, otherClient] = [connect(), connect()];
    expect((await call(slowClient, sleepy, { action: 'sleep', ms: 1 })).status).toBe(200);
    const slow = call(slowClient, sleepy, { action: 'sleep', ms: 20_000 });
    const meanwhile = await call(otherClient, hello, { message: 'still here' });
    expect(meanwhile.status).toBe(200);
    const timedOut = await slow;
    expect(timedOut.status).toBe(504);
    expect(timedOut.json).toEqual({ error: 'the function did not finish within its time limit of 500 ms', code: 'function_timeout' });
    expect(timedOut.headers['x-ignite-execution-id']).toMatch(UUID_V7);
    await waitFor(() =>
      t.logs.some((r) => r.msg === 'instance exited' && r.functionId === sleepy.functionId && r.cause === 'killed') ? true : undefined,
    );
    const next = await call(connect(), sleepy, { action: 'sleep', ms: 1 });
    expect(next.status).toBe(200);
    expect(next.headers['x-ignite-cold']).toBe('true');
  });

  it('answers for a program that dies mid-request (only that request fails) and routes its idle connections again', async () => {
    const faults = await seed({ program: programs.faults, memoryMb: 64 });
    const [dying, idle] = [connect(), connect()];
    const warm = await Promise.all([call(dying, faults, { action: 'sleep', ms: 200 }), call(idle, faults, { action: 'hello' })]);
    expect(warm.map((a) => a.status)).toEqual([200, 200]);
    const pid = t.logs.filter((r) => r.msg === 'instance ready' && r.functionId === faults.functionId).map((r) => r.pid);
    expect(pid).toHaveLength(1);

    const exited = await call(dying, faults, { action: 'exit' });
    expect({ status: exited.status, json: exited.json }).toEqual({
      status: 500,
      json: { error: "the function's process exited while handling the request (exit code 3)", code: 'function_error' },
    });
    // The other connection was idle in the same program: the caller never notices.
    const survived = await call(idle, faults, { action: 'hello' });
    expect(survived.status).toBe(200);
    expect(survived.headers['x-ignite-cold']).toBe('true');

    const grown = await call(idle, faults, { action: 'alloc' });
    expect({ status: grown.status, json: grown.json }).toEqual({
      status: 500,
      json: { error: 'the function exceeded its memory limit of 64 MiB and was stopped', code: 'function_error' },
    });
    expect((await call(connect(), faults, { action: 'hello' })).status).toBe(200);
  });

  it('switches to a newly published release under load without failing a request', async () => {
    const fn = await seed({ program: programs.faults, env: { RELEASE_TAG: 'faults' } });
    const pool = connect(4);
    const seen: { status: number; release: unknown; tag: unknown }[] = [];
    let published = false;
    let newAnswers = 0;
    const worker = async () => {
      while (!published || newAnswers < 40) {
        const answer = await call(pool, fn, { action: 'sleep', ms: 5 });
        const release = answer.headers['x-ignite-release'];
        if (published && release === '2') newAnswers++;
        seen.push({ status: answer.status, release, tag: answer.json?.tag });
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    await waitFor(() => (seen.length >= 40 ? true : undefined));
    await publish(prisma, redis, t.prefix, t.store, fn, programs.semantics);
    published = true;
    await load;
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    expect(seen[0]).toMatchObject({ release: '1', tag: 'faults' });
    expect(seen.slice(-20).every((s) => s.release === '2' && s.tag === undefined)).toBe(true);
    await waitFor(() =>
      t.logs.some((r) => r.msg === 'instance exited' && r.functionId === fn.functionId && r.release === 1 && r.cause === 'stopped')
        ? true
        : undefined,
    );
  });

  it('takes an idle connection back, so that it holds no instance, and routes its next request again', async () => {
    const hello = await seed({ program: programs.hello });
    const client = connect();
    expect((await call(client, hello, {})).status).toBe(200);
    const before = await handoffs();
    // RUNNER_DIRECT_IDLE_MS is 1500 here; the instance stops after RUNNER_IDLE_TIMEOUT_MS once nothing holds it.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const again = await call(client, hello, {});
    expect(again.status).toBe(200);
    expect(again.headers['x-ignite-cold']).toBe('false');
    expect((await handoffs()) - before).toBe(1);
  });

  it('serves 100 simultaneous connections of one function within its instance cap', async () => {
    const semantics = await seed({ program: programs.semantics });
    const pool = connect(100);
    const answers = await Promise.all(Array.from({ length: 100 }, () => call(pool, semantics, { action: 'sleep', ms: 50 })));
    expect(answers.filter((a) => a.status !== 200).map((a) => `${a.status} ${a.text}`)).toEqual([]);
    const started = t.logs.filter((r) => r.msg === 'instance ready' && r.functionId === semantics.functionId).length;
    expect(started).toBeLessThanOrEqual(4);
  });
});

describe('direct connections with an internal token', () => {
  let programs: FixturePrograms;
  let prisma: PrismaClient;
  let t: TestRunner;
  let fn: SeededFunction;

  beforeAll(async () => {
    programs = await buildFixtures();
    prisma = testPrisma();
    t = await startRunner({ RUNNER_INTERNAL_TOKEN: 'a-long-shared-secret' });
    fn = await seedFunction(prisma, t.store, { program: programs.semantics });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
    await cleanup(prisma, [fn]);
    await prisma.$disconnect();
  });

  it('refuses a connection whose first request lacks the token, and serves one that has it', async () => {
    const refused = await invoke(t.directUrl, fn, { action: 'echo' });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ error: 'missing or wrong x-ignite-internal-token', code: 'unauthorized' });
    const client = new Client(t.directUrl);
    try {
      const token = { 'x-ignite-internal-token': 'a-long-shared-secret' };
      const first = await call(client, fn, { action: 'echo' }, { headers: token });
      expect(first.status).toBe(200);
      // Later requests on the connection are the same caller's; the token never reaches the handler.
      const second = await call(client, fn, { action: 'echo' }, { headers: { 'X-Test-Header': 'no token here' } });
      expect(second.status).toBe(200);
      expect(second.json.header).toBe('no token here');
    } finally {
      await client.close();
    }
  });
});
