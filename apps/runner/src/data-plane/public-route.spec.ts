jest.mock('uuid', () => require('../testing/uuid-v7'));

import { randomBytes } from 'node:crypto';
import { API_KEY_PREFIX, channels, hashApiKey, invokeErrors } from '@ignite/contracts';
import type { PrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, waitFor } from '@ignite/testing';
import type { Redis } from 'ioredis';
import { Client } from 'undici';
import { buildFixtures, type FixturePrograms } from '../testing/fixtures';
import {
  cleanup,
  publish,
  reportsOf,
  type SeededFunction,
  type SeedOptions,
  seedFunction,
  startRunner,
  type TestRunner,
  testPrisma,
} from '../testing/harness';

jest.setTimeout(120_000);

/** Short, so that the revocation test waits little: how long a key and a handed-over connection are trusted. */
const KEY_TTL_MS = 1_500;
const MAX_BODY_BYTES = 4096;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read as loose JSON
  json: any;
}

async function call(
  client: Client,
  fn: Pick<SeededFunction, 'org' | 'app'>,
  body: unknown,
  init: { key?: string | null; path?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  if (init.key) headers.authorization = `Bearer ${init.key}`;
  const response = await client.request({
    method: 'POST',
    path: `/v1/orgs/${fn.org}/apps/${fn.app}/invoke${init.path ?? ''}`,
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.body.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.statusCode, headers: response.headers, json };
}

describe('the public route on the direct port: API keys, public apps, limits', () => {
  let programs: FixturePrograms;
  let prisma: PrismaClient;
  let redis: Redis;
  let t: TestRunner;
  const seeded: SeededFunction[] = [];
  const clients: Client[] = [];
  const seed = async (options: SeedOptions & { auth?: 'key' | 'public'; rateLimitPerSecond?: number; concurrencyLimit?: number }) => {
    const { auth, rateLimitPerSecond, concurrencyLimit, ...rest } = options;
    const fn = await seedFunction(prisma, t.store, { program: programs.semantics, ...rest });
    await prisma.app.update({
      where: { id: fn.appId },
      data: { invokeAuth: auth ?? 'key', rateLimitPerSecond: rateLimitPerSecond ?? null, concurrencyLimit: concurrencyLimit ?? null },
    });
    seeded.push(fn);
    return fn;
  };
  /** A key of `fn`'s org, written as the API writes one. */
  const keyOf = async (fn: SeededFunction) => {
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    await prisma.apiKey.create({ data: { orgId: fn.orgId, name: 'test', prefix: key.slice(4, 12), hash: hashApiKey(key) } });
    return key;
  };
  const connect = () => {
    const client = new Client(t.directUrl);
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
    t = await startRunner({
      RUNNER_API_KEY_CACHE_TTL_MS: String(KEY_TTL_MS),
      RUNNER_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      RUNNER_QUEUE_WAIT_MS: '20000',
    });
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

  it('hands a connection with a valid key to the program, which serves it without the key reaching the handler', async () => {
    const fn = await seed({});
    const key = await keyOf(fn);
    const client = connect();
    const before = await handoffs();
    const first = await call(client, fn, { action: 'echo' }, { key, path: '/orders/42?name=ada' });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ path: '/orders/42', name: 'ada', function_id: fn.functionId });
    expect(first.headers['x-ignite-execution-id']).toBe(first.json.execution_id);
    expect(first.headers['x-ignite-release']).toBe('1');
    const ids = [String(first.headers['x-ignite-execution-id'])];
    for (let i = 0; i < 10; i++) {
      const next = await call(client, fn, { action: 'authorization' }, { key });
      expect({ status: next.status, json: next.json }).toEqual({ status: 200, json: { authorization: null } });
      ids.push(String(next.headers['x-ignite-execution-id']));
    }
    expect((await handoffs()) - before).toBe(1);
    const reports = await reportsOf(t.prefix, ids);
    expect(reports.size).toBe(11);
    expect([...reports.values()].every((report) => report.appId === fn.appId && report.statusCode === 200)).toBe(true);
  });

  it('refuses a missing, malformed or unknown key with 401 and another org’s app with the 404 of an app that does not exist', async () => {
    const fn = await seed({});
    const other = await seed({});
    const otherKey = await keyOf(other);
    const client = connect();
    const refusals = [
      await call(client, fn, {}, { key: null }),
      await call(client, fn, {}, { headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
      await call(client, fn, {}, { key: 'not-a-key' }),
      await call(client, fn, {}, { key: `${API_KEY_PREFIX}${'x'.repeat(43)}` }),
      await call(client, fn, {}, { key: otherKey }),
      await call(client, { org: other.org, app: 'no-such-app' }, {}, { key: otherKey }),
    ];
    expect(refusals.map((r) => ({ status: r.status, json: r.json }))).toEqual([
      { status: 401, json: { error: invokeErrors.missingKey, code: 'unauthorized' } },
      { status: 401, json: { error: invokeErrors.missingKey, code: 'unauthorized' } },
      { status: 401, json: { error: invokeErrors.invalidKey, code: 'unauthorized' } },
      { status: 401, json: { error: invokeErrors.invalidKey, code: 'unauthorized' } },
      { status: 404, json: { error: invokeErrors.appNotFound(fn.org, fn.app), code: 'not_found' } },
      { status: 404, json: { error: invokeErrors.appNotFound(other.org, 'no-such-app'), code: 'not_found' } },
    ]);
  });

  it('refuses a revoked key within the TTL, also on a connection the program already serves', async () => {
    const fn = await seed({});
    const key = await keyOf(fn);
    const client = connect();
    expect((await call(client, fn, {}, { key })).status).toBe(200);
    // Revoked behind the runner's back (no notice): only the TTL bounds it.
    const revokedAt = Date.now();
    await prisma.apiKey.updateMany({ where: { hash: hashApiKey(key) }, data: { revokedAt: new Date() } });
    const refused = await waitFor(
      async () => {
        const answer = await call(client, fn, {}, { key });
        return answer.status === 401 ? answer : undefined;
      },
      KEY_TTL_MS * 4,
      'the revoked key refused',
    );
    expect(Date.now() - revokedAt).toBeLessThan(KEY_TTL_MS + 1_000);
    expect(refused.json).toEqual({ error: invokeErrors.invalidKey, code: 'unauthorized' });
  });

  it('drops a key the API announces as revoked at once', async () => {
    const fn = await seed({});
    const key = await keyOf(fn);
    const client = connect();
    expect((await call(client, fn, {}, { key })).status).toBe(200);
    await prisma.apiKey.updateMany({ where: { hash: hashApiKey(key) }, data: { revokedAt: new Date() } });
    await redis.publish(channels.apiKeys(t.prefix), JSON.stringify({ hash: hashApiKey(key), change: 'revoked' }));
    // A new connection is checked against the cache, which the notice emptied.
    const fresh = connect();
    const refused = await waitFor(async () => {
      const answer = await call(fresh, fn, {}, { key });
      return answer.status === 401 ? answer : undefined;
    }, KEY_TTL_MS / 2);
    expect(refused.status).toBe(401);
  });

  it('serves a public app without a key; another org’s key rides through the runner, never to the program', async () => {
    const fn = await seed({ auth: 'public' });
    const stranger = await seed({});
    const strangerKey = await keyOf(stranger);
    const anonymous = connect();
    const before = await handoffs();
    const open = await call(anonymous, fn, { action: 'authorization' }, { headers: { authorization: 'Basic b3duOnNjaGVtZQ==' } });
    expect({ status: open.status, json: open.json }).toEqual({ status: 200, json: { authorization: 'Basic b3duOnNjaGVtZQ==' } });
    expect((await handoffs()) - before).toBe(1);
    const keyed = connect();
    const withKey = await call(keyed, fn, { action: 'authorization' }, { key: strangerKey });
    expect({ status: withKey.status, json: withKey.json }).toEqual({ status: 200, json: { authorization: null } });
    expect((await handoffs()) - before).toBe(1);
  });

  it('routes requests for several functions and keys on one connection anew, each answered by its own function', async () => {
    const a = await seed({});
    const b = await seed({ app: 'other' });
    const keyA = await keyOf(a);
    const keyB = await keyOf(b);
    const client = connect();
    for (let i = 0; i < 3; i++) {
      const answers = [
        await call(client, a, { action: 'echo' }, { key: keyA }),
        await call(client, b, { action: 'echo' }, { key: keyB }),
        await call(client, b, { action: 'echo' }, { key: keyA }),
      ];
      expect(answers.map((r) => [r.status, r.json.function_id ?? r.json.code])).toEqual([
        [200, a.functionId],
        [200, b.functionId],
        [404, 'not_found'],
      ]);
    }
  });

  it('answers 413 JSON past the body limit, before the handoff and on a connection the program serves, in the same words', async () => {
    const fn = await seed({});
    const key = await keyOf(fn);
    const big = JSON.stringify({ action: 'echo', pad: 'x'.repeat(MAX_BODY_BYTES) });
    const expected = {
      status: 413,
      json: { error: invokeErrors.payloadTooLarge(MAX_BODY_BYTES), code: 'payload_too_large', limitBytes: MAX_BODY_BYTES },
    };
    const first = await call(connect(), fn, big, { key });
    expect({ status: first.status, json: first.json }).toEqual(expected);
    const client = connect();
    expect((await call(client, fn, { action: 'echo' }, { key })).status).toBe(200);
    const later = await call(client, fn, big, { key });
    expect({ status: later.status, json: later.json }).toEqual(expected);
  });

  it('answers 429 JSON with retry-after past an app’s rate limit, on one connection as on many', async () => {
    const fn = await seed({ rateLimitPerSecond: 5 });
    const key = await keyOf(fn);
    const client = connect();
    const answers: Reply[] = [];
    for (let i = 0; i < 30; i++) answers.push(await call(client, fn, {}, { key }));
    const served = answers.filter((r) => r.status === 200).length;
    const limited = answers.filter((r) => r.status === 429);
    // A second's worth (5) and what refilled while they ran.
    expect(served).toBeGreaterThanOrEqual(5);
    expect(served).toBeLessThan(15);
    expect(limited.length).toBe(30 - served);
    expect(limited[0]!.json).toEqual({ error: invokeErrors.rateLimited('app', fn.functionId, 5), code: 'rate_limited' });
    expect(Number(limited[0]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // A refused invocation of an existing app is recorded too.
    const ids = limited.slice(0, 3).map((r) => String(r.headers['x-ignite-execution-id']));
    const reports = await reportsOf(t.prefix, ids);
    expect([...reports.values()].map((r) => r.statusCode)).toEqual([429, 429, 429]);
  });

  it('answers 429 past an app’s concurrency limit (a connection in a program’s hands counts)', async () => {
    const fn = await seed({ concurrencyLimit: 1 });
    const key = await keyOf(fn);
    const first = connect();
    expect((await call(first, fn, {}, { key })).status).toBe(200);
    const second = await call(connect(), fn, {}, { key });
    expect({ status: second.status, json: second.json }).toEqual({
      status: 429,
      json: { error: invokeErrors.concurrencyLimited('app', fn.functionId, 1), code: 'rate_limited' },
    });
    await first.close();
    await waitFor(async () => ((await call(connect(), fn, {}, { key })).status === 200 ? true : undefined), 5_000);
  });

  it('switches a public connection to a new release with no failed request', async () => {
    const fn = await seed({});
    const key = await keyOf(fn);
    const client = connect();
    const seen: number[] = [];
    let releases = new Set<string>();
    let stop = false;
    const load = (async () => {
      while (!stop) {
        const answer = await call(client, fn, {}, { key });
        seen.push(answer.status);
        releases.add(String(answer.headers['x-ignite-release']));
      }
    })();
    await waitFor(() => (seen.length >= 20 ? true : undefined));
    await publish(prisma, redis, t.prefix, t.store, fn, programs.semantics);
    releases = new Set();
    await waitFor(() => (releases.has('2') ? true : undefined), 10_000);
    stop = true;
    await load;
    expect(seen.filter((status) => status !== 200)).toEqual([]);
  });
});
