jest.mock('uuid', () => require('../testing/uuid-v7'));

import { randomBytes } from 'node:crypto';
import { API_KEY_PREFIX, hashApiKey, invokeErrors } from '@ignite/contracts';
import type { PrismaClient } from '@ignite/database';
import { buildComponent } from '@ignite/testing';
import { Client, Pool } from 'undici';
import {
  cleanup,
  isAlive,
  reportsOf,
  type SeededFunction,
  type SeedOptions,
  seedFunction,
  startRunner,
  type TestRunner,
  testPrisma,
} from '../testing/harness';

// The runner's direct port hands a wasm release's connections to its host (apps/runner/wasm-host,
// src/direct), which serves them as a native program does: real components, real hosts in real
// sandboxes, the runner's side of the handoff unchanged.
jest.setTimeout(600_000);

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read as loose JSON
  json: any;
  text: string;
}

/** One request on a keep-alive connection, on the internal route (`path`: after the function) or a full `target`. */
async function call(
  connection: Client | Pool,
  fn: Pick<SeededFunction, 'functionId'>,
  body: unknown,
  init: { path?: string; target?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const response = await connection.request({
    method: 'POST',
    path: init.target ?? `/v1/invoke/${fn.functionId}${init.path ?? ''}`,
    headers: { 'content-type': 'application/json', ...init.headers },
    body: JSON.stringify(body),
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

describe('direct connections to wasm hosts: the host serves the caller’s connection itself', () => {
  let prisma: PrismaClient;
  let t: TestRunner;
  let semanticsComponent: string;
  const seeded: SeededFunction[] = [];
  const clients: (Client | Pool)[] = [];
  const seed = async (options: SeedOptions & { auth?: 'key' | 'public' } = {}) => {
    const { auth, ...rest } = options;
    const fn = await seedFunction(prisma, t.store, { program: semanticsComponent, target: 'wasm', ...rest });
    if (auth !== undefined) await prisma.app.update({ where: { id: fn.appId }, data: { invokeAuth: auth } });
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
  const hostPids = (fn: SeededFunction) =>
    t.logs.filter((record) => record.msg === 'instance ready' && record.functionId === fn.functionId).map((record) => record.pid as number);
  const exits = (fn: SeededFunction) => t.logs.filter((record) => record.msg === 'instance exited' && record.functionId === fn.functionId);

  beforeAll(async () => {
    semanticsComponent = buildComponent('handler-semantics');
    prisma = testPrisma();
    t = await startRunner({ RUNNER_DIRECT_IDLE_MS: '1500', RUNNER_QUEUE_WAIT_MS: '20000' });
  }, 900_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await t?.stop();
    if (prisma) {
      await cleanup(prisma, seeded);
      await prisma.$disconnect();
    }
  });

  it('hands the connection to the host, which answers every request on it: the contract JSON, the headers, reports', async () => {
    const fn = await seed();
    const before = await handoffs();
    const client = connect();
    const first = await call(client, fn, { action: 'echo' }, { path: '/orders/42?name=ada', headers: { 'X-Test-Header': 'yes' } });
    expect(first.status).toBe(200);
    const executionId = String(first.headers['x-ignite-execution-id']);
    expect(executionId).toMatch(UUID_V7);
    expect(first.json).toMatchObject({
      path: '/orders/42',
      name: 'ada',
      header: 'yes',
      execution_id: executionId,
      function_id: fn.functionId,
    });
    expect(first.headers['x-ignite-cold']).toBe('true');
    expect(first.headers['x-ignite-release']).toBe('1');
    expect(Number(first.headers['x-ignite-duration-ms'])).toBeGreaterThanOrEqual(0);
    const ids = [executionId];
    for (let i = 0; i < 20; i++) {
      // A caller's own platform headers never reach the guest; the host makes the execution id.
      const next = await call(client, fn, { action: 'echo' }, { headers: { 'x-ignite-execution-id': 'forged' } });
      expect(next.status).toBe(200);
      expect(next.headers['x-ignite-cold']).toBe('false');
      expect(next.json.execution_id).toBe(next.headers['x-ignite-execution-id']);
      // A fresh component instance per request, on a handed-over connection too.
      expect(next.json.served).toBe(1);
      ids.push(String(next.headers['x-ignite-execution-id']));
    }
    expect(new Set(ids).size).toBe(21);
    expect(ids).not.toContain('forged');
    // One handoff for the connection: the runner's proxy was out of the way for every request.
    expect((await handoffs()) - before).toBe(1);
    const reports = await reportsOf(t.prefix, ids);
    expect(reports.size).toBe(21);
    expect(reports.get(executionId)).toMatchObject({ appId: fn.appId, releaseId: fn.releaseId, statusCode: 200, cold: true, error: null });
    expect([...reports.values()].every((report) => report.statusCode === 200)).toBe(true);

    const failed = await call(client, fn, { action: 'err', message: 'order not paid' });
    expect({ status: failed.status, json: failed.json }).toEqual({ status: 500, json: { error: 'order not paid' } });
    const failedId = String(failed.headers['x-ignite-execution-id']);
    expect((await reportsOf(t.prefix, [failedId])).get(failedId)).toMatchObject({ statusCode: 500, error: 'order not paid' });
    // Nothing of the direct protocol is the guest's.
    const env = await call(client, fn, { action: 'env', name: 'GREETING' });
    expect((env.json.names as string[]).filter((name) => /^(IGNITE_|NODE_CHANNEL_)/.test(name))).toEqual([]);
    expect((await handoffs()) - before).toBe(1);
  });

  it('answers 421 on a connection bound to another function, and closes it', async () => {
    const [a, b] = [await seed(), await seed()];
    const client = connect();
    expect((await call(client, a, { action: 'echo' })).status).toBe(200);
    const elsewhere = await call(client, b, { action: 'echo' });
    expect(elsewhere.status).toBe(421);
    expect(elsewhere.json).toEqual({
      error: `this connection is bound to ${a.functionId}; /v1/invoke/${b.functionId} is not one of its invocations: send it on a new connection`,
      code: 'misdirected_request',
    });
    expect(elsewhere.headers.connection).toBe('close');
    const again = await call(client, b, { action: 'echo' });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ function_id: b.functionId });
  });

  it('answers 504 at the limit itself while another connection to the same host is answered, and keeps host and connection', async () => {
    const spinner = await seed({ timeoutMs: 1000 });
    const [slowClient, otherClient] = [connect(), connect()];
    expect((await call(slowClient, spinner, { action: 'echo' })).status).toBe(200);
    const before = await handoffs();
    const started = performance.now();
    const spinning = call(slowClient, spinner, { action: 'spin' });
    const meanwhile = await call(otherClient, spinner, { action: 'echo' });
    expect(meanwhile.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1000);
    const timedOut = await spinning;
    expect({ status: timedOut.status, json: timedOut.json }).toEqual({
      status: 504,
      json: { error: 'the function did not finish within its time limit of 1000 ms', code: 'function_timeout' },
    });
    expect(timedOut.headers['x-ignite-execution-id']).toMatch(UUID_V7);
    // The same connection goes on (no new handoff), in the same host: the runner condemned nothing.
    const next = await call(slowClient, spinner, { action: 'echo' });
    expect(next.status).toBe(200);
    expect((await handoffs()) - before).toBe(1);
    expect(hostPids(spinner)).toHaveLength(1);
    expect(isAlive(hostPids(spinner)[0]!)).toBe(true);
    expect(exits(spinner)).toEqual([]);
    const id = String(timedOut.headers['x-ignite-execution-id']);
    expect((await reportsOf(t.prefix, [id])).get(id)).toMatchObject({
      statusCode: 504,
      error: 'the function did not finish within its time limit of 1000 ms',
    });
  });

  it('answers for a host that dies mid-request (only that request fails) and routes its idle connections again', async () => {
    const fn = await seed();
    const [dying, idle] = [connect(), connect()];
    const warm = await Promise.all([call(dying, fn, { action: 'echo' }), call(idle, fn, { action: 'echo' })]);
    expect(warm.map((answer) => answer.status)).toEqual([200, 200]);
    const [pid] = hostPids(fn);
    const sleeping = call(dying, fn, { action: 'sleep', ms: 30_000 });
    // The request is in the host (its slot says so) when the host dies.
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(pid!, 'SIGKILL');
    const lost = await sleeping;
    expect(lost.status).toBe(500);
    expect(lost.json).toEqual({
      error: expect.stringMatching(/^the function's process exited while handling the request/),
      code: 'function_error',
    });
    expect(lost.headers['x-ignite-execution-id']).toMatch(UUID_V7);
    // The other connection was idle in the same host: its next request starts a new host.
    const survived = await call(idle, fn, { action: 'echo' });
    expect(survived.status).toBe(200);
    expect(survived.headers['x-ignite-cold']).toBe('true');
    expect(hostPids(fn)).toHaveLength(2);
  });

  it('hands a public connection with a key to the host, and gives back a request with another key', async () => {
    const fn = await seed({ auth: 'key' });
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    await prisma.apiKey.create({ data: { orgId: fn.orgId, name: 'test', prefix: key.slice(4, 12), hash: hashApiKey(key) } });
    const target = `/v1/orgs/${fn.org}/apps/${fn.app}/invoke`;
    // The host tells the runner it serves public connections as it starts: a connection routed
    // before the runner read that is served by the runner, so the host is started first.
    expect((await call(connect(), fn, { action: 'echo' })).status).toBe(200);
    const client = connect();
    const before = await handoffs();
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const answer = await call(
        client,
        fn,
        { action: 'echo' },
        { target: `${target}/orders/${i}`, headers: { authorization: `Bearer ${key}` } },
      );
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ path: `/orders/${i}`, function_id: fn.functionId });
      ids.push(String(answer.headers['x-ignite-execution-id']));
    }
    expect((await handoffs()) - before).toBe(1);
    const reports = await reportsOf(t.prefix, ids);
    expect([...reports.values()].map((report) => report.statusCode)).toEqual(Array.from({ length: 10 }, () => 200));
    // Another key on the same connection: the host gives the request back, the runner refuses it.
    const other = await call(
      client,
      fn,
      { action: 'echo' },
      { target, headers: { authorization: `Bearer ${API_KEY_PREFIX}${'x'.repeat(43)}` } },
    );
    expect({ status: other.status, json: other.json }).toEqual({
      status: 401,
      json: { error: invokeErrors.invalidKey, code: 'unauthorized' },
    });
  });

  it('serves many connections of one release in one host, each request its own instance', async () => {
    const fn = await seed();
    const pool = connect(12);
    const answers = await Promise.all(Array.from({ length: 48 }, () => call(pool, fn, { action: 'sleep', ms: 50 })));
    expect(answers.filter((answer) => answer.status !== 200).map((answer) => `${answer.status} ${answer.text}`)).toEqual([]);
    expect(hostPids(fn)).toHaveLength(1);
  });
});
