import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { channels } from '@ignite/contracts';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, uniqueName, waitFor } from '@ignite/testing';
import { RUST_PROJECT, tarGz, zip } from './archives';
import { sha256, steps, type TestApi, TestEnv } from './harness';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('lifecycle, operations and docs (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let org: { id: string; slug: string; key: string };

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
    org = await env.org();
  });

  afterAll(async () => {
    await env.teardown();
  });

  it('deletes an app with its rows, and the blobs no other app references', async () => {
    const shared = tarGz(RUST_PROJECT);
    const own = zip({ ...RUST_PROJECT, 'README.md': 'only mine' });
    const sharedArtifact = randomBytes(64);
    const ownArtifact = randomBytes(64);
    await steps.createApp(api, org, 'keeper');
    await steps.saveDraft(api, org, 'keeper', shared);
    const keeperBuild = await steps.compile(api, org, 'keeper');
    await steps.succeed(env, keeperBuild, sharedArtifact);
    await steps.publish(api, org, 'keeper');

    await steps.createApp(api, org, 'doomed');
    await steps.saveDraft(api, org, 'doomed', shared);
    const oldBuild = await steps.compile(api, org, 'doomed');
    await steps.succeed(env, oldBuild, sharedArtifact);
    await steps.publish(api, org, 'doomed');
    await steps.saveDraft(api, org, 'doomed', own, 'application/zip');
    const newBuild = await steps.compile(api, org, 'doomed');
    await steps.succeed(env, newBuild, ownArtifact);
    await steps.publish(api, org, 'doomed');
    const doomedId = (await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name: 'doomed' } })).id;
    await env.prisma.buildLogLine.create({ data: { buildId: newBuild, seq: 1, stream: 'stdout', text: 'compiling' } });
    await env.prisma.invocation.create({
      data: { executionId: uniqueName('exec'), appId: doomedId, statusCode: 200, durationMs: 1, cold: true },
    });
    // The worker's artifacts, as it stores them.
    const blobs = new FilesystemBlobStore(join(env.dataDir, 'blobs'));
    await blobs.put(sharedArtifact);
    await blobs.put(ownArtifact);
    for (const data of [shared, own, sharedArtifact, ownArtifact]) expect(existsSync(env.blobPath(sha256(data)))).toBe(true);

    const reply = await api.call('DELETE', `/v1/orgs/${org.slug}/apps/doomed`, { key: org.key });
    expect(reply.status).toBe(204);
    expect(reply.text).toBe('');

    expect(await env.prisma.app.count({ where: { id: doomedId } })).toBe(0);
    for (const count of [
      env.prisma.draft.count({ where: { appId: doomedId } }),
      env.prisma.build.count({ where: { appId: doomedId } }),
      env.prisma.release.count({ where: { appId: doomedId } }),
      env.prisma.invocation.count({ where: { appId: doomedId } }),
      env.prisma.buildLogLine.count({ where: { buildId: newBuild } }),
    ]) {
      expect(await count).toBe(0);
    }
    // Only what the deleted app alone referenced is gone.
    expect(existsSync(env.blobPath(sha256(own)))).toBe(false);
    expect(existsSync(env.blobPath(sha256(ownArtifact)))).toBe(false);
    expect(existsSync(env.blobPath(sha256(shared)))).toBe(true);
    expect(existsSync(env.blobPath(sha256(sharedArtifact)))).toBe(true);
    expect(await env.prisma.blob.count({ where: { sha256: sha256(own) } })).toBe(0);
    expect(await env.prisma.blob.count({ where: { sha256: sha256(shared) } })).toBe(1);

    expect((await api.call('GET', `/v1/orgs/${org.slug}/apps/doomed`, { key: org.key })).status).toBe(404);
    expect((await api.call('DELETE', `/v1/orgs/${org.slug}/apps/doomed`, { key: org.key })).status).toBe(404);
    const keeper = await api.call('GET', `/v1/orgs/${org.slug}/apps/keeper/draft/archive`, { key: org.key });
    expect(keeper.body).toEqual(shared);
  });

  it('loses nothing across a restart', async () => {
    await steps.createApp(api, org, 'durable', { env: { A: '1' } });
    const saved = await steps.saveDraft(api, org, 'durable', tarGz(RUST_PROJECT));
    const buildId = await steps.compile(api, org, 'durable');
    await steps.succeed(env, buildId);
    const release = await steps.publish(api, org, 'durable');
    const before = await api.call('GET', `/v1/orgs/${org.slug}/apps/durable`, { key: org.key });

    await api.close();
    api = await env.start();

    const after = await api.call('GET', `/v1/orgs/${org.slug}/apps/durable`, { key: org.key });
    expect(after.json).toEqual(before.json);
    expect(after.json.app).toMatchObject({
      env: { A: '1' },
      draft: { revision: 1, sha256: saved.json.sha256 },
      activeRelease: { id: release.json.release.id },
    });
    const archive = await api.call('GET', `/v1/orgs/${org.slug}/apps/durable/draft/archive`, { key: org.key });
    expect(sha256(archive.body)).toBe(saved.json.sha256);
    expect((await api.call('GET', `/v1/orgs/${org.slug}/apps/durable/builds/${buildId}`, { key: org.key })).json.build.status).toBe(
      'succeeded',
    );
    // The queue survived too: a new compile of a new revision is queued as before.
    await steps.saveDraft(api, org, 'durable', tarGz({ ...RUST_PROJECT, 'README.md': 'again' }));
    const next = await steps.compile(api, org, 'durable');
    expect(await env.queue.getJob(next)).toBeDefined();
  });

  describe('bootstrap of the local CLI config', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'ignite-cli-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('writes a working key (0600 in a 0700 folder) and reuses it on the next start', async () => {
      const slug = uniqueName('boot');
      const port = await freePort();
      const path = join(dir, 'ignite', 'config.json');
      const settings = { IGNITE_BOOTSTRAP_LOCAL: 'true', IGNITE_DEFAULT_ORG: slug, IGNITE_CLI_CONFIG: path, PORT: String(port) };
      const first = await env.start(settings);
      try {
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        expect((await stat(join(dir, 'ignite'))).mode & 0o777).toBe(0o700);
        const config = JSON.parse(await readFile(path, 'utf8'));
        expect(config).toEqual({
          url: `http://127.0.0.1:${port}`,
          org: slug,
          key: expect.stringMatching(/^ign_[A-Za-z0-9_-]{43}$/),
          // `ignite invoke` calls the data plane (RUNNER_DIRECT_URL), not the API.
          invokeUrl: first.config.RUNNER_DIRECT_URL,
        });
        expect(first.url).toBe(config.url);
        const list = await first.call('GET', `/v1/orgs/${slug}/apps`, { key: config.key });
        expect(list.status).toBe(200);
        const orgRow = await env.prisma.org.findUniqueOrThrow({ where: { slug }, include: { apiKeys: true } });
        expect(orgRow.apiKeys).toHaveLength(1);
        expect(orgRow.apiKeys[0]).toMatchObject({ name: 'local', prefix: config.key.slice(4, 12) });
        expect(orgRow.apiKeys[0]!.hash).not.toContain(config.key.slice(4));
        await first.close();

        const second = await env.start(settings);
        expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(config);
        expect(await env.prisma.apiKey.count({ where: { orgId: orgRow.id } })).toBe(1);
        await second.close();

        // A key that no longer works is replaced.
        await writeFile(path, JSON.stringify({ ...config, key: `ign_${'x'.repeat(43)}` }));
        const third = await env.start(settings);
        const replaced = JSON.parse(await readFile(path, 'utf8'));
        expect(replaced.key).not.toBe(config.key);
        expect((await third.call('GET', `/v1/orgs/${slug}/apps`, { key: replaced.key })).status).toBe(200);
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        await third.close();
      } finally {
        await env.prisma.org.deleteMany({ where: { slug } });
      }
    });
  });

  describe('operations', () => {
    it('answers /healthz and /readyz without a key', async () => {
      expect((await api.call('GET', '/healthz')).json).toEqual({ status: 'ok' });
      expect((await api.call('GET', '/readyz')).json).toEqual({ status: 'ready', checks: { postgres: 'ok', redis: 'ok' } });
    });

    it('answers /readyz with 503 JSON when a dependency is unreachable', async () => {
      const broken = await env.start({ REDIS_URL: 'redis://127.0.0.1:1/0' });
      const reply = await broken.call('GET', '/readyz');
      expect(reply.status).toBe(503);
      expect(reply.json).toEqual({
        error: 'not ready: redis unreachable',
        code: 'unavailable',
        checks: { postgres: 'ok', redis: 'unreachable' },
      });
      await broken.close();
    }, 20_000);

    it('fails a build whose job cannot be enqueued, and says so (503)', async () => {
      await steps.createApp(api, org, 'unqueued');
      await steps.saveDraft(api, org, 'unqueued', tarGz(RUST_PROJECT));
      const noRedis = await env.start({ REDIS_URL: 'redis://127.0.0.1:1/0' });
      const reply = await noRedis.call('POST', `/v1/orgs/${org.slug}/apps/unqueued/builds`, { key: org.key });
      expect(reply.status).toBe(503);
      expect(reply.json).toMatchObject({ code: 'unavailable', build: { status: 'failed' } });
      expect(reply.json.error).toContain('could not enqueue the build');
      const row = await env.prisma.build.findUniqueOrThrow({ where: { id: reply.json.build.id } });
      expect(row).toMatchObject({ status: 'failed', errorSummary: expect.stringContaining('could not enqueue the build') });
      expect(row.finishedAt).not.toBeNull();
      await noRedis.close();
      // With the queue back, the next compile queues a new build.
      const next = await steps.compile(api, org, 'unqueued');
      expect(next).not.toBe(row.id);
      expect(await env.queue.getJob(next)).toBeDefined();
    }, 20_000);

    it('exposes Prometheus metrics without a key', async () => {
      await api.call('GET', `/v1/orgs/${org.slug}/apps`, { key: org.key });
      const reply = await api.call('GET', '/metrics');
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toContain('text/plain');
      expect(reply.text).toContain('ignite_api_process_cpu_seconds_total');
      expect(reply.text).toMatch(/ignite_api_http_requests_total\{method="GET",route="\/v1\/orgs\/:org\/apps",status="200"\} \d+/);
      expect(reply.text).toContain('ignite_api_builds_enqueued_total');
      expect(reply.text).toContain('ignite_api_invocations_total');
    });
  });

  describe('OpenAPI', () => {
    it('documents every route in a valid OpenAPI 3 document, and serves Swagger UI', async () => {
      const reply = await api.call('GET', '/docs-json');
      expect(reply.status).toBe(200);
      const doc = reply.json;
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(doc.info).toMatchObject({ title: 'Ignite API', version: '1' });
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

      const base = '/v1/orgs/{org}/apps';
      const any = ['delete', 'get', 'head', 'options', 'patch', 'post', 'put', 'search'];
      const expected: Record<string, string[]> = {
        '/healthz': ['get'],
        '/readyz': ['get'],
        '/metrics': ['get'],
        [base]: ['get', 'post'],
        [`${base}/{app}`]: ['delete', 'get', 'patch'],
        [`${base}/{app}/env`]: ['patch'],
        [`${base}/{app}/draft`]: ['get', 'put'],
        [`${base}/{app}/draft/archive`]: ['get'],
        [`${base}/{app}/builds`]: ['get', 'post'],
        [`${base}/{app}/builds/{buildId}`]: ['get'],
        [`${base}/{app}/builds/{buildId}/logs`]: ['get'],
        [`${base}/{app}/builds/{buildId}/cancel`]: ['post'],
        ['/v1/orgs/{org}/builds/{buildId}']: ['get'],
        ['/v1/orgs/{org}/builds/{buildId}/logs']: ['get'],
        [`${base}/{app}/releases`]: ['get', 'post'],
        [`${base}/{app}/releases/{number}/activate`]: ['post'],
        [`${base}/{app}/invoke`]: any,
        [`${base}/{app}/invoke/{path}`]: any,
        [`${base}/{app}/invocations`]: ['get'],
        [`${base}/{app}/invocations/{executionId}`]: ['get'],
        [`${base}/{app}/logs`]: ['get'],
        [`${base}/{app}/logs/follow`]: ['get'],
        [`${base}/{app}/stats`]: ['get'],
        [`${base}/{app}/stats/timeline`]: ['get'],
        '/v1/whoami': ['get'],
        ['/v1/orgs/{org}/keys']: ['get', 'post'],
        ['/v1/orgs/{org}/keys/{key}']: ['delete'],
      };
      const actual = Object.fromEntries(
        Object.entries(doc.paths as Record<string, object>).map(([path, item]) => [path, Object.keys(item).sort()]),
      );
      expect(actual).toEqual(expected);

      // Structure: every operation is unique, has responses, and declares each path parameter of its path.
      const operationIds = new Set<string>();
      const refs = new Set<string>();
      const collectRefs = (value: unknown) => {
        if (Array.isArray(value)) value.forEach(collectRefs);
        else if (value && typeof value === 'object') {
          for (const [key, inner] of Object.entries(value)) {
            if (key === '$ref' && typeof inner === 'string') refs.add(inner);
            else collectRefs(inner);
          }
        }
      };
      for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
        const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
        for (const [method, operation] of Object.entries(item)) {
          const id = operation.operationId as string;
          expect(typeof id).toBe('string');
          expect(operationIds.has(id)).toBe(false);
          operationIds.add(id);
          expect(Object.keys(operation.responses as object).length).toBeGreaterThan(0);
          for (const status of Object.keys(operation.responses as object)) expect(status).toMatch(/^[1-5]\d\d$|^default$/);
          const declared = ((operation.parameters as { name: string; in: string; required?: boolean }[]) ?? []).filter(
            (p) => p.in === 'path',
          );
          expect({ path, method, params: declared.map((p) => p.name).sort() }).toEqual({ path, method, params: [...pathParams].sort() });
          for (const param of declared) expect(param.required).toBe(true);
          if (path.startsWith('/v1/')) {
            expect(operation.security).toEqual([{ bearer: [] }]);
            expect(Object.keys(operation.responses as object)).toEqual(expect.arrayContaining(['401', '404']));
          }
        }
      }
      collectRefs(doc);
      for (const ref of refs) {
        expect(ref).toMatch(/^#\/components\/schemas\//);
        expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)]).toBeDefined();
      }
      expect(Object.keys(doc.paths[`${base}/{app}/draft`].put.requestBody.content).sort()).toEqual(
        ['application/gzip', 'application/octet-stream', 'application/x-gzip', 'application/zip', 'multipart/form-data'].sort(),
      );
      expect(doc.components.schemas.CreateAppDto.properties.runtime.enum).toEqual(['rust']);

      const ui = await api.call('GET', '/docs');
      expect(ui.status).toBe(200);
      expect(ui.headers['content-type']).toContain('text/html');
      expect(ui.text).toContain('swagger-ui-bundle.js');
      const bundle = await api.call('GET', '/docs/swagger-ui-bundle.js');
      expect(bundle.status).toBe(200);
      expect(bundle.body.length).toBeGreaterThan(100_000);
      expect((await api.call('GET', '/docs/swagger-ui-init.js')).text).toContain("url: '/docs-json'");
    });
  });

  it('announces env changes of a published app to runners', async () => {
    const subscriber = createRedis(testRedisUrl());
    const notices: unknown[] = [];
    subscriber.on('message', (_channel: string, message: string) => notices.push(JSON.parse(message)));
    await subscriber.subscribe(channels.releases(env.prefix));
    const reply = await api.call('PATCH', `/v1/orgs/${org.slug}/apps/durable/env`, { key: org.key, json: { set: { B: '2' } } });
    expect(reply.status).toBe(200);
    const notice = await waitFor(() => notices[0], 5_000, 'the notice');
    expect(notice).toMatchObject({ functionId: `${org.slug}/durable`, number: 1 });
    await subscriber.quit();
  });
});
