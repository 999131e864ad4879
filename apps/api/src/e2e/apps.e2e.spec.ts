import { steps, type TestApi, TestEnv } from './harness';

describe('apps, auth and errors (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let a: { id: string; slug: string; key: string };
  let b: { id: string; slug: string; key: string };

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
    a = await env.org();
    b = await env.org();
  });

  afterAll(async () => {
    await env.teardown();
  });

  describe('create validation', () => {
    const create = (json: unknown) => api.call('POST', `/v1/orgs/${a.slug}/apps`, { key: a.key, json });

    it('refuses an unsupported runtime, listing the supported ones', async () => {
      const reply = await create({ name: 'fn', runtime: 'python' });
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ code: 'validation_failed' });
      expect(reply.json.error).toContain('runtime "python" is not supported; supported runtimes: rust');
    });

    it('refuses an unknown rust target, listing the targets', async () => {
      const reply = await create({ name: 'fn', runtime: 'rust', rustTarget: 'arm' });
      expect(reply.status).toBe(400);
      expect(reply.json.error).toContain('supported targets: native, wasm');
    });

    it.each(['Hello', '1abc', 'a_b', 'x'.repeat(64), ''])('refuses the name %p, stating the rule', async (name) => {
      const reply = await create({ name, runtime: 'rust' });
      expect(reply.status).toBe(400);
      expect(reply.json.error).toContain('lower-case letters, digits and "-", starting with a letter, at most 63 characters');
    });

    it('refuses reserved and malformed env names, saying why', async () => {
      const reply = await create({ name: 'fn', runtime: 'rust', env: { IGNITE_TOKEN: 'x', PORT: '1', '9LIVES': 'x', OK: 'fine' } });
      expect(reply.status).toBe(400);
      expect(reply.json.error).toContain('env name "IGNITE_TOKEN" is reserved: names starting with IGNITE_ are set by the platform');
      expect(reply.json.error).toContain('env name "PORT" is reserved');
      expect(reply.json.error).toContain('env name "9LIVES" must match');
      expect(reply.json.issues.map((issue: { path: string }) => issue.path)).toEqual(['env.IGNITE_TOKEN', 'env.PORT', 'env.9LIVES']);
    });

    it('refuses env values that are not strings, unknown fields and a missing body', async () => {
      expect((await create({ name: 'fn', runtime: 'rust', env: { A: 1 } })).status).toBe(400);
      expect((await create({ name: 'fn', runtime: 'rust', rust_target: 'wasm' })).json.error).toContain('rust_target');
      const missing = await api.call('POST', `/v1/orgs/${a.slug}/apps`, { key: a.key });
      expect(missing.status).toBe(400);
      expect(missing.json).toEqual(
        expect.objectContaining({ code: 'validation_failed', error: expect.stringContaining('JSON body is required') }),
      );
    });
  });

  it('creates an app (201), refuses a duplicate name (409), lists and reads it', async () => {
    const created = await api.call('POST', `/v1/orgs/${a.slug}/apps`, {
      key: a.key,
      json: { name: 'hello', runtime: 'rust', rustTarget: 'wasm', env: { GREETING: 'hi' }, timeoutMs: 5000, memoryMb: 256 },
    });
    expect(created.status).toBe(201);
    expect(created.json.app).toMatchObject({
      org: a.slug,
      name: 'hello',
      runtime: 'rust',
      rustTarget: 'wasm',
      env: { GREETING: 'hi' },
      timeoutMs: 5000,
      memoryMb: 256,
      activeReleaseNumber: null,
    });

    const duplicate = await api.call('POST', `/v1/orgs/${a.slug}/apps`, { key: a.key, json: { name: 'hello', runtime: 'rust' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toEqual({ error: `app "hello" already exists in org "${a.slug}"`, code: 'conflict' });

    const list = await api.call('GET', `/v1/orgs/${a.slug}/apps`, { key: a.key });
    expect(list.status).toBe(200);
    expect(list.json.apps.map((app: { name: string }) => app.name)).toEqual(['hello']);

    const detail = await api.call('GET', `/v1/orgs/${a.slug}/apps/hello`, { key: a.key });
    expect(detail.status).toBe(200);
    expect(detail.json.app).toMatchObject({ name: 'hello', draft: null, latestBuild: null, activeRelease: null });

    const defaults = await steps.createApp(api, a, 'defaults');
    expect(defaults.json.app).toMatchObject({ rustTarget: 'native', env: {}, timeoutMs: null, memoryMb: null });
  });

  it('sets and unsets env variables, with the same rules', async () => {
    await steps.createApp(api, a, 'envy', { env: { KEEP: '1', DROP: '2' } });
    const path = `/v1/orgs/${a.slug}/apps/envy/env`;
    const patched = await api.call('PATCH', path, { key: a.key, json: { set: { NEW: 'x', KEEP: 'changed' }, unset: ['DROP', 'ABSENT'] } });
    expect(patched.status).toBe(200);
    expect(patched.json.app.env).toEqual({ KEEP: 'changed', NEW: 'x' });

    const reserved = await api.call('PATCH', path, { key: a.key, json: { set: { IGNITE_X: '1' } } });
    expect(reserved.status).toBe(400);
    expect(reserved.json.error).toContain('reserved');
    const both = await api.call('PATCH', path, { key: a.key, json: { set: { A: '1' }, unset: ['A'] } });
    expect(both.status).toBe(400);
    expect(both.json.error).toContain('both set and unset');
  });

  describe('keys and orgs', () => {
    beforeAll(async () => {
      await steps.createApp(api, a, 'mine');
      await steps.createApp(api, b, 'theirs');
    });

    it('hides every app of another org behind the same 404 as a missing app, in both directions', async () => {
      for (const [caller, owner, app] of [
        [a, b, 'theirs'],
        [b, a, 'mine'],
      ] as const) {
        const missing = { error: `app "${app}" not found in org "${owner.slug}"`, code: 'not_found' };
        const base = `/v1/orgs/${owner.slug}/apps/${app}`;
        for (const [method, path] of [
          ['GET', base],
          ['DELETE', base],
          ['GET', `${base}/draft`],
          ['POST', `${base}/builds`],
          ['GET', `${base}/releases`],
          // (`POST ${base}/invoke` is the data plane's to answer, in the same words: apps/runner's public-route spec.)
        ] as const) {
          const reply = await api.call(method, path, { key: caller.key });
          expect({ method, path, status: reply.status, body: reply.json }).toEqual({ method, path, status: 404, body: missing });
        }
        const list = await api.call('GET', `/v1/orgs/${owner.slug}/apps`, { key: caller.key });
        expect(list.status).toBe(404);
        expect(list.json).toEqual({ error: `org "${owner.slug}" not found`, code: 'not_found' });
        // The owner's own key still sees the app (the DELETE above did nothing).
        expect((await api.call('GET', base, { key: owner.key })).status).toBe(200);
      }
      // A missing app in one's own org answers exactly the same way.
      const ghost = await api.call('GET', `/v1/orgs/${a.slug}/apps/theirs`, { key: a.key });
      expect(ghost.json).toEqual({ error: `app "theirs" not found in org "${a.slug}"`, code: 'not_found' });
    });

    it('answers 401 without a key, with a wrong, malformed or revoked key', async () => {
      const path = `/v1/orgs/${a.slug}/apps`;
      const none = await api.call('GET', path);
      expect(none.status).toBe(401);
      expect(none.json).toEqual({ error: 'missing API key: send "Authorization: Bearer <key>"', code: 'unauthorized' });
      const wrong = await api.call('GET', path, { key: `ign_${'A'.repeat(43)}` });
      expect(wrong.status).toBe(401);
      expect(wrong.json).toEqual({ error: 'invalid API key', code: 'unauthorized' });
      expect((await api.call('GET', path, { headers: { authorization: `Basic ${a.key}` } })).status).toBe(401);
      expect((await api.call('GET', path, { key: 'not-a-key' })).status).toBe(401);

      const revoked = await env.org();
      await env.prisma.apiKey.updateMany({ where: { orgId: revoked.id }, data: { revokedAt: new Date() } });
      expect((await api.call('GET', `/v1/orgs/${revoked.slug}/apps`, { key: revoked.key })).status).toBe(401);
      // 401 comes before validation and before the org check.
      expect((await api.call('POST', `/v1/orgs/${b.slug}/apps`, { json: { name: 'NOPE' } })).status).toBe(401);
    });

    it('records when a key was last used', async () => {
      const fresh = await env.org();
      expect((await env.prisma.apiKey.findFirstOrThrow({ where: { orgId: fresh.id } })).lastUsedAt).toBeNull();
      await api.call('GET', `/v1/orgs/${fresh.slug}/apps`, { key: fresh.key });
      const first = (await env.prisma.apiKey.findFirstOrThrow({ where: { orgId: fresh.id } })).lastUsedAt;
      expect(first).toBeInstanceOf(Date);
      await api.call('GET', `/v1/orgs/${fresh.slug}/apps`, { key: fresh.key });
      // At most one write a minute.
      expect((await env.prisma.apiKey.findFirstOrThrow({ where: { orgId: fresh.id } })).lastUsedAt).toEqual(first);
    });
  });

  describe('error bodies are JSON', () => {
    it('answers an unknown route with 404 JSON', async () => {
      const reply = await api.call('GET', '/v1/nothing/here');
      expect(reply.status).toBe(404);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(reply.json).toEqual({ error: 'no route for GET /v1/nothing/here', code: 'not_found' });
    });

    it('answers malformed JSON with 400 JSON', async () => {
      const reply = await api.call('POST', `/v1/orgs/${a.slug}/apps`, {
        key: a.key,
        body: '{"name":',
        headers: { 'content-type': 'application/json' },
      });
      expect(reply.status).toBe(400);
      expect(reply.json.code).toBe('validation_failed');
      expect(typeof reply.json.error).toBe('string');
    });

    it('answers a body over the limit with 413 JSON naming the limit', async () => {
      const small = await env.start({ MAX_BODY_BYTES: '1024' });
      const reply = await small.call('POST', `/v1/orgs/${a.slug}/apps`, {
        key: a.key,
        json: { name: 'big', runtime: 'rust', env: { X: 'y'.repeat(4096) } },
      });
      expect(reply.status).toBe(413);
      expect(reply.json).toEqual({
        error: 'request body is larger than the limit of 1024 bytes',
        code: 'payload_too_large',
        limitBytes: 1024,
      });
      await small.close();
    });

    it('echoes x-request-id, or makes one', async () => {
      const given = await api.call('GET', '/healthz', { headers: { 'x-request-id': 'req-123' } });
      expect(given.headers['x-request-id']).toBe('req-123');
      const made = await api.call('GET', '/healthz');
      expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
});
