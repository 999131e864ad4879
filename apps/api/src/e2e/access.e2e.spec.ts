import { type ApiKeyChanged, channels, hashApiKey, type ReleaseActivated } from '@ignite/contracts';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, waitFor } from '@ignite/testing';
import type { Redis } from 'ioredis';
import { RUST_PROJECT, tarGz } from './archives';
import { steps, type TestApi, TestEnv } from './harness';

/** Who may invoke what: API keys (created, listed, revoked, with the data plane told) and an app's auth and limits. */
describe('invoke access: keys and app auth (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let org: { id: string; slug: string; key: string };
  let listener: Redis;
  const heard: { channel: string; message: unknown }[] = [];

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
    org = await env.org();
    listener = createRedis(testRedisUrl());
    listener.on('message', (channel: string, message: string) => heard.push({ channel, message: JSON.parse(message) }));
    await listener.subscribe(channels.apiKeys(env.prefix), channels.releases(env.prefix));
  });

  afterAll(async () => {
    listener?.disconnect();
    await env.teardown();
  });

  const heardOn = <T>(channel: string) => heard.filter((h) => h.channel === channel).map((h) => h.message as T);

  it('creates a key (its secret shown once), lists it, and revokes it: refused at once, the data plane told both times', async () => {
    const created = await api.call('POST', `/v1/orgs/${org.slug}/keys`, { key: org.key, json: { name: 'ci' } });
    expect(created.status).toBe(201);
    const secret = created.json.secret as string;
    expect(secret).toMatch(/^ign_[A-Za-z0-9_-]{43}$/);
    expect(created.json.key).toEqual({
      id: expect.any(String),
      name: 'ci',
      prefix: secret.slice(4, 12),
      createdAt: expect.any(String),
      lastUsedAt: null,
      revokedAt: null,
    });
    expect((await api.call('GET', `/v1/orgs/${org.slug}/apps`, { key: secret })).status).toBe(200);

    const listed = await api.call('GET', `/v1/orgs/${org.slug}/keys`, { key: org.key });
    expect(listed.json.keys.map((k: { name: string }) => k.name)).toEqual(['test', 'ci']);
    expect(JSON.stringify(listed.json)).not.toContain(secret.slice(12));

    const revoked = await api.call('DELETE', `/v1/orgs/${org.slug}/keys/${created.json.key.id}`, { key: org.key });
    expect(revoked.status).toBe(204);
    expect((await api.call('GET', `/v1/orgs/${org.slug}/apps`, { key: secret })).json).toEqual({
      error: 'invalid API key',
      code: 'unauthorized',
    });
    const notices = await waitFor(() => {
      const mine = heardOn<ApiKeyChanged>(channels.apiKeys(env.prefix)).filter((n) => n.hash === hashApiKey(secret));
      return mine.length === 2 ? mine : undefined;
    });
    expect(notices.map((n) => n.change)).toEqual(['created', 'revoked']);
    const again = await api.call('GET', `/v1/orgs/${org.slug}/keys`, { key: org.key });
    expect(again.json.keys.find((k: { name: string }) => k.name === 'ci').revokedAt).toEqual(expect.any(String));
  });

  it("answers whoami with the org and the calling key (the guard's 401 without one)", async () => {
    const created = await api.call('POST', `/v1/orgs/${org.slug}/keys`, { key: org.key, json: { name: 'console' } });
    const secret = created.json.secret as string;
    const mine = await api.call('GET', '/v1/whoami', { key: secret });
    expect(mine.status).toBe(200);
    expect(mine.json).toEqual({ org: org.slug, key: { ...created.json.key, lastUsedAt: expect.any(String) } });
    const listed = await api.call('GET', `/v1/orgs/${org.slug}/keys`, { key: org.key });
    expect(listed.json.keys.find((k: { id: string }) => k.id === created.json.key.id)).toEqual(mine.json.key);
    // Each key answers for itself.
    expect((await api.call('GET', '/v1/whoami', { key: org.key })).json.key.name).toBe('test');

    const none = await api.call('GET', '/v1/whoami');
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ error: 'missing API key: send "Authorization: Bearer <key>"', code: 'unauthorized' });
    await api.call('DELETE', `/v1/orgs/${org.slug}/keys/${created.json.key.id}`, { key: org.key });
    expect((await api.call('GET', '/v1/whoami', { key: secret })).json).toEqual({ error: 'invalid API key', code: 'unauthorized' });
  });

  it('answers 404 for a key of another org or none at all, and 400 for a key without a name', async () => {
    const other = await env.org();
    const theirs = (await env.prisma.apiKey.findFirstOrThrow({ where: { orgId: other.id } })).id;
    for (const id of [theirs, '00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const reply = await api.call('DELETE', `/v1/orgs/${org.slug}/keys/${id}`, { key: org.key });
      expect({ status: reply.status, code: reply.json.code }).toEqual({ status: 404, code: 'not_found' });
    }
    expect((await api.call('GET', `/v1/orgs/${other.slug}/apps`, { key: other.key })).status).toBe(200);
    expect((await api.call('POST', `/v1/orgs/${org.slug}/keys`, { key: org.key, json: { name: ' ' } })).status).toBe(400);
  });

  it('creates an app public or keyed, with limits, and changes them; runners hear of it when a release is active', async () => {
    const created = await steps.createApp(api, org, 'open', { auth: 'public', rateLimitPerSecond: 100 });
    expect(created.json.app).toMatchObject({ auth: 'public', rateLimitPerSecond: 100, concurrencyLimit: null });
    const keyed = await steps.createApp(api, org, 'keyed');
    expect(keyed.json.app).toMatchObject({ auth: 'key', rateLimitPerSecond: null, concurrencyLimit: null });

    await steps.saveDraft(api, org, 'keyed', tarGz(RUST_PROJECT));
    await steps.succeed(env, await steps.compile(api, org, 'keyed'));
    await steps.publish(api, org, 'keyed');
    const before = heardOn<ReleaseActivated>(channels.releases(env.prefix)).length;
    const patched = await api.call('PATCH', `/v1/orgs/${org.slug}/apps/keyed`, {
      key: org.key,
      json: { auth: 'public', concurrencyLimit: 8 },
    });
    expect(patched.status).toBe(200);
    expect(patched.json.app).toMatchObject({ auth: 'public', concurrencyLimit: 8, rateLimitPerSecond: null });
    await waitFor(() => (heardOn(channels.releases(env.prefix)).length > before ? true : undefined));
    expect(heardOn<ReleaseActivated>(channels.releases(env.prefix)).at(-1)).toMatchObject({ functionId: `${org.slug}/keyed` });

    const reset = await api.call('PATCH', `/v1/orgs/${org.slug}/apps/keyed`, {
      key: org.key,
      json: { auth: 'key', concurrencyLimit: null },
    });
    expect(reset.json.app).toMatchObject({ auth: 'key', concurrencyLimit: null });
    expect((await api.call('GET', `/v1/orgs/${org.slug}/apps/keyed`, { key: org.key })).json.app.auth).toBe('key');
  });

  it('refuses an unknown auth, a limit that is no positive whole number and an empty change', async () => {
    await steps.createApp(api, org, 'strict');
    const patch = (json: unknown) => api.call('PATCH', `/v1/orgs/${org.slug}/apps/strict`, { key: org.key, json });
    const wrongAuth = await patch({ auth: 'iam' });
    expect(wrongAuth.status).toBe(400);
    expect(wrongAuth.json.error).toContain('auth "iam" is not supported; one of: key, public');
    expect((await patch({ rateLimitPerSecond: 0 })).status).toBe(400);
    expect((await patch({ concurrencyLimit: 1.5 })).status).toBe(400);
    expect((await patch({})).json.error).toContain('nothing to change');
    expect((await patch({ env: {} })).status).toBe(400);
    const ghost = await api.call('PATCH', `/v1/orgs/${org.slug}/apps/ghost`, { key: org.key, json: { auth: 'public' } });
    expect(ghost.json).toEqual({ error: `app "ghost" not found in org "${org.slug}"`, code: 'not_found' });
  });
});
