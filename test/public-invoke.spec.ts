import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { API_KEY_PREFIX, hashApiKey, invokeErrors } from '@ignite/contracts';
import { createPrismaClient, type PrismaClient } from '@ignite/database';
import { repoRoot, tarGzOf, testDatabaseUrl, uniqueName, waitFor, writeFunctionSource } from '@ignite/testing';
import { Pool } from 'undici';
import { type Answer, TestPlatform } from './support/platform';

// The public invoke route on the data plane (the runner's direct port), end to end: the platform
// as its three processes, a real function built by the worker, API keys made and revoked through
// the API, and the API's own invoke route beside it for compatibility.
jest.setTimeout(900_000);

const HANDLER = readFileSync(join(repoRoot, 'sdk', 'ignite-rs', 'fixtures', 'handler-semantics', 'src', 'lib.rs'), 'utf8');
const KEY_TTL_MS = 2_000;
const MAX_BODY_BYTES = 64 * 1024;

function source(marker: string): string {
  return writeFunctionSource('handler-semantics', {
    'src/lib.rs': HANDLER.replace('const MARKER: &str = "release-1";', `const MARKER: &str = ${JSON.stringify(marker)};`),
  });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read as loose JSON
  json: any;
}

describe('the public invoke route: the data plane, with API keys, public apps and limits', () => {
  const platform = new TestPlatform();
  const sources: string[] = [];
  const pools: Pool[] = [];
  let prisma: PrismaClient;
  let strangerOrg: { id: string; slug: string; key: string };
  const app = 'public-route';

  /** A kept-alive connection pool to the data plane, as a client library keeps one. */
  const dataPlane = (connections = 1) => {
    const pool = new Pool(platform.directUrl, { connections });
    pools.push(pool);
    return pool;
  };
  const call = async (
    pool: Pool,
    body: unknown,
    init: { key?: string | null; appName?: string; org?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
    const key = init.key === undefined ? platform.apiKey : init.key;
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const response = await pool.request({
      method: 'POST',
      path: `/v1/orgs/${init.org ?? platform.org}/apps/${init.appName ?? app}/invoke`,
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.body.text();
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: response.statusCode, headers: response.headers, json };
  };
  const viaApi = (body: unknown, headers: Record<string, string> = {}): Promise<Answer> =>
    platform.invoke(app, typeof body === 'string' ? body : body, { headers });

  beforeAll(async () => {
    await platform.start({
      RUNNER_API_KEY_CACHE_TTL_MS: String(KEY_TTL_MS),
      RUNNER_MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      MAX_BODY_BYTES: String(MAX_BODY_BYTES),
      RUNNER_QUEUE_WAIT_MS: '20000',
    });
    prisma = createPrismaClient(testDatabaseUrl());
    const first = source('release-1');
    sources.push(first);
    const { release } = await platform.deploy(app, first, { rustTarget: 'native' });
    expect(release).toBe(1);
    // Another org, with a key of its own (written as an operator would).
    const slug = uniqueName('stranger');
    const org = await prisma.org.create({ data: { slug } });
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    await prisma.apiKey.create({ data: { orgId: org.id, name: 'stranger', prefix: key.slice(4, 12), hash: hashApiKey(key) } });
    strangerOrg = { id: org.id, slug, key };
  });

  afterAll(async () => {
    await Promise.all(pools.map((pool) => pool.close().catch(() => undefined)));
    if (strangerOrg) await prisma.org.delete({ where: { id: strangerOrg.id } }).catch(() => undefined);
    await prisma?.$disconnect();
    await platform.stop();
    for (const dir of sources) rmSync(dir, { recursive: true, force: true });
  });

  it('accepts the org’s key and answers as the API’s route does, with the invocation headers', async () => {
    const direct = await call(dataPlane(), { action: 'echo' });
    expect(direct.status).toBe(200);
    expect(direct.json).toMatchObject({ function_id: `${platform.org}/${app}`, marker: 'release-1' });
    expect(direct.json.execution_id).toBe(direct.headers['x-ignite-execution-id']);
    expect(direct.headers['x-ignite-release']).toBe('1');
    const compatible = await viaApi({ action: 'echo' });
    expect(compatible.status).toBe(200);
    expect(compatible.json).toMatchObject({ function_id: `${platform.org}/${app}`, marker: 'release-1' });
    expect(compatible.json.execution_id).toBe(compatible.headers.get('x-ignite-execution-id'));
    expect(compatible.headers.get('x-ignite-release')).toBe('1');
  });

  it('refuses a missing or wrong key with 401, and another org’s key with the 404 of an app that does not exist, on both routes alike', async () => {
    const pool = dataPlane();
    const missing = await call(pool, {}, { key: null });
    const wrong = await call(pool, {}, { key: `${API_KEY_PREFIX}${'x'.repeat(43)}` });
    const stranger = await call(pool, {}, { key: strangerOrg.key });
    const nowhere = await call(pool, {}, { key: strangerOrg.key, org: strangerOrg.slug, appName: 'no-such-app' });
    expect([missing, wrong, stranger, nowhere].map((r) => ({ status: r.status, json: r.json }))).toEqual([
      { status: 401, json: { error: invokeErrors.missingKey, code: 'unauthorized' } },
      { status: 401, json: { error: invokeErrors.invalidKey, code: 'unauthorized' } },
      { status: 404, json: { error: invokeErrors.appNotFound(platform.org, app), code: 'not_found' } },
      { status: 404, json: { error: invokeErrors.appNotFound(strangerOrg.slug, 'no-such-app'), code: 'not_found' } },
    ]);
    const response = await fetch(`${platform.apiUrl}/v1/orgs/${platform.org}/apps/${app}/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${strangerOrg.key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect({ status: response.status, json: await response.json() }).toEqual({ status: stranger.status, json: stranger.json });
  });

  it('refuses a key revoked through the API at once, and one revoked behind its back within the TTL', async () => {
    const created = await platform.call('POST', '/keys', { name: 'short-lived' });
    expect(created.status).toBe(201);
    const pool = dataPlane();
    expect((await call(pool, { action: 'echo' }, { key: created.json.secret })).status).toBe(200);
    expect((await platform.call('DELETE', `/keys/${created.json.key.id}`)).status).toBe(204);
    // The data plane heard of it; the connection it handed over comes back to be checked within the TTL.
    const refused = await waitFor(
      async () => {
        const fresh = await call(dataPlane(), {}, { key: created.json.secret });
        return fresh.status === 401 ? fresh : undefined;
      },
      2_000,
      'the revoked key refused on a new connection',
    );
    expect(refused.json).toEqual({ error: invokeErrors.invalidKey, code: 'unauthorized' });

    const other = await platform.call('POST', '/keys', { name: 'revoked-in-postgres' });
    const kept = dataPlane();
    expect((await call(kept, {}, { key: other.json.secret })).status).toBe(200);
    const revokedAt = Date.now();
    await prisma.apiKey.update({ where: { id: other.json.key.id }, data: { revokedAt: new Date() } });
    await waitFor(
      async () => ((await call(kept, {}, { key: other.json.secret })).status === 401 ? true : undefined),
      KEY_TTL_MS * 3,
      'the key revoked in Postgres refused on the kept connection',
    );
    expect(Date.now() - revokedAt).toBeLessThan(KEY_TTL_MS + 1_500);
  });

  it('serves a public app without a key, and a keyed app again once it is set back', async () => {
    const opened = await platform.call('PATCH', `/apps/${app}`, { auth: 'public' });
    expect(opened.json.app.auth).toBe('public');
    const anonymous = await waitFor(async () => {
      const answer = await call(dataPlane(), { action: 'echo' }, { key: null });
      return answer.status === 200 ? answer : undefined;
    });
    expect(anonymous.json).toMatchObject({ function_id: `${platform.org}/${app}` });
    const viaApiAnonymous = await fetch(`${platform.apiUrl}/v1/orgs/${platform.org}/apps/${app}/invoke`, { method: 'POST', body: '{}' });
    expect(viaApiAnonymous.status).toBe(200);
    await platform.call('PATCH', `/apps/${app}`, { auth: 'key' });
    await waitFor(async () => ((await call(dataPlane(), {}, { key: null })).status === 401 ? true : undefined));
  });

  it('answers 429 JSON with retry-after under a rate limit, 413 JSON past the payload limit, alike on both routes', async () => {
    await platform.call('PATCH', `/apps/${app}`, { rateLimitPerSecond: 5 });
    try {
      const pool = dataPlane();
      const answers = await waitFor(async () => {
        const burst: Reply[] = [];
        for (let i = 0; i < 30; i++) burst.push(await call(pool, { action: 'echo' }));
        return burst.some((r) => r.status === 429) ? burst : undefined;
      });
      const limited = answers.find((r) => r.status === 429)!;
      expect(limited.json).toEqual({ error: invokeErrors.rateLimited('app', `${platform.org}/${app}`, 5), code: 'rate_limited' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(answers.filter((r) => r.status !== 200 && r.status !== 429)).toEqual([]);
      const viaApiLimited = await waitFor(async () => {
        const answer = await viaApi({ action: 'echo' });
        return answer.status === 429 ? answer : undefined;
      });
      expect(viaApiLimited.json).toEqual(limited.json);
    } finally {
      await platform.call('PATCH', `/apps/${app}`, { rateLimitPerSecond: null });
    }

    const big = JSON.stringify({ action: 'echo', pad: 'x'.repeat(MAX_BODY_BYTES) });
    const expected = {
      status: 413,
      json: { error: invokeErrors.payloadTooLarge(MAX_BODY_BYTES), code: 'payload_too_large', limitBytes: MAX_BODY_BYTES },
    };
    const kept = dataPlane();
    const tooLarge = await waitFor(async () => {
      const answer = await call(dataPlane(), big);
      return answer.status === 413 ? answer : undefined;
    });
    expect({ status: tooLarge.status, json: tooLarge.json }).toEqual(expected);
    expect((await call(kept, { action: 'echo' })).status).toBe(200);
    const onAHandedOverConnection = await call(kept, big);
    expect({ status: onAHandedOverConnection.status, json: onAHandedOverConnection.json }).toEqual(expected);
    const compatible = await viaApi(big);
    expect({ status: compatible.status, json: compatible.json }).toEqual(expected);
  });

  it('records every invocation it answered under load exactly once', async () => {
    const pool = dataPlane(8);
    const total = 400;
    const answers = await Promise.all(Array.from({ length: total }, () => call(pool, { action: 'echo' })));
    expect(answers.filter((r) => r.status !== 200).map((r) => `${r.status} ${JSON.stringify(r.json)}`)).toEqual([]);
    const ids = answers.map((r) => String(r.headers['x-ignite-execution-id']));
    expect(new Set(ids).size).toBe(total);
    const recorded = await waitFor(
      async () => {
        const count = await prisma.invocation.count({ where: { executionId: { in: ids } } });
        return count === total ? count : undefined;
      },
      30_000,
      `the ${total} invocations recorded`,
    );
    expect(recorded).toBe(total);
    expect(await prisma.invocation.count({ where: { executionId: { in: ids }, statusCode: 200 } })).toBe(total);
  });

  it('switches to a new release and back under load through the public route, failing no request', async () => {
    const second = source('release-2');
    sources.push(second);
    const saved = await platform.call('PUT', `/apps/${app}/draft`, new Uint8Array(await tarGzOf(second)), {
      'content-type': 'application/gzip',
    });
    expect(saved.status).toBe(200);
    await platform.compile(app);
    const pool = dataPlane(4);
    const switchUnderLoad = async (change: () => Promise<Answer>, expected: string) => {
      const seen: { status: number; marker: unknown }[] = [];
      let changed = false;
      let after = 0;
      const client = async () => {
        while (!changed || after < 20) {
          const answer = await call(pool, { action: 'echo' });
          seen.push({ status: answer.status, marker: answer.json?.marker });
          if (changed && answer.json?.marker === expected) after++;
        }
      };
      const load = Promise.all([client(), client(), client(), client()]);
      await waitFor(() => (seen.length >= 40 ? true : undefined));
      const answer = await change();
      expect([200, 201]).toContain(answer.status);
      changed = true;
      await load;
      expect(seen.filter((s) => s.status !== 200)).toEqual([]);
      expect(seen.slice(-8).every((s) => s.marker === expected)).toBe(true);
    };
    await switchUnderLoad(() => platform.call('POST', `/apps/${app}/releases`), 'release-2');
    await switchUnderLoad(() => platform.call('POST', `/apps/${app}/releases/1/activate`), 'release-1');
  });
});
