import { randomUUID } from 'node:crypto';
import { RetentionService } from '../retention/retention.service';
import { RUST_PROJECT, tarGz } from './archives';
import { steps, type TestApi, TestEnv } from './harness';

const DAY_MS = 24 * 3600 * 1000;

/** What the platform allows a tenant: the operator's maxima, per-org quotas, fair build queueing, retention. */
describe('limits, quotas and retention (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  const archive = tarGz(RUST_PROJECT);

  beforeAll(async () => {
    await env.setup();
    api = await env.start({
      APP_MAX_MEMORY_MB: '512',
      APP_MAX_TIMEOUT_MS: '60000',
      ORG_MAX_APPS: '3',
      ORG_MAX_BUILDS_IN_FLIGHT: '2',
      INVOCATION_RETENTION_DAYS: '7',
      BUILD_LOG_RETENTION_DAYS: '3',
    });
  });

  afterAll(async () => {
    await env.teardown();
  });

  const apps = (org: { slug: string }) => `/v1/orgs/${org.slug}/apps`;

  it("refuses an app's memory or time limit over the operator's maximum, naming it and the setting that raises it", async () => {
    const org = await env.org();
    const memory = await api.call('POST', apps(org), { key: org.key, json: { name: 'big', runtime: 'rust', memoryMb: 4096 } });
    expect(memory.status).toBe(422);
    expect(memory.json).toEqual({
      error: expect.stringMatching(/^memoryMb 4096 is over this platform's maximum of 512 MiB: .*raise APP_MAX_MEMORY_MB \(now 512\)$/),
      code: 'limit_exceeded',
      limit: 'app_memory_mb',
      max: 512,
      setting: 'APP_MAX_MEMORY_MB',
    });
    const time = await api.call('POST', apps(org), { key: org.key, json: { name: 'slow', runtime: 'rust', timeoutMs: 600_000 } });
    expect(time.status).toBe(422);
    expect(time.json).toMatchObject({ code: 'limit_exceeded', limit: 'app_timeout_ms', max: 60_000, setting: 'APP_MAX_TIMEOUT_MS' });
    // At the maxima: accepted.
    await steps.createApp(api, org, 'edge', { memoryMb: 512, timeoutMs: 60_000 });
    expect((await api.call('GET', apps(org), { key: org.key })).json.apps.map((a: { name: string }) => a.name)).toEqual(['edge']);
  });

  it('refuses an org its next app past ORG_MAX_APPS (also when created at once), and takes one again after a delete', async () => {
    const org = await env.org();
    const created = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((name) => api.call('POST', apps(org), { key: org.key, json: { name, runtime: 'rust' } })),
    );
    expect(created.map((reply) => reply.status).sort()).toEqual([201, 201, 201, 422, 422]);
    const refused = created.find((reply) => reply.status === 422)!;
    expect(refused.json).toEqual({
      error: expect.stringContaining(`org "${org.slug}" has 3 apps, the most it may have: delete one it no longer needs`),
      code: 'limit_exceeded',
      limit: 'apps_per_org',
      max: 3,
      setting: 'ORG_MAX_APPS',
    });
    expect(refused.json.error).toContain('raise ORG_MAX_APPS');
    const kept = (await api.call('GET', apps(org), { key: org.key })).json.apps.map((a: { name: string }) => a.name);
    expect(kept).toHaveLength(3);

    expect((await api.call('DELETE', `${apps(org)}/${kept[0]}`, { key: org.key })).status).toBe(204);
    await steps.createApp(api, org, 'again');
    // Another org is not held to this one's count.
    const other = await env.org();
    await steps.createApp(api, other, 'a');
  });

  it('refuses an org a draft that would put its drafts over ORG_MAX_DRAFT_BYTES, and keeps what it had', async () => {
    // One draft of this archive fits, two do not.
    const api = await env.start({ ORG_MAX_DRAFT_BYTES: String(Math.ceil(archive.length * 1.5)) });
    const org = await env.org();
    await steps.createApp(api, org, 'first');
    await steps.createApp(api, org, 'second');
    await steps.saveDraft(api, org, 'first', archive);
    // Replacing a draft counts the new archive, not the old one as well.
    await steps.saveDraft(api, org, 'first', archive);
    const blobsBefore = await env.blobFiles();

    const refused = await api.call('PUT', `${apps(org)}/second/draft`, {
      key: org.key,
      body: archive,
      headers: { 'content-type': 'application/gzip' },
    });
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({
      code: 'limit_exceeded',
      limit: 'draft_bytes_per_org',
      max: Math.ceil(archive.length * 1.5),
      setting: 'ORG_MAX_DRAFT_BYTES',
    });
    expect(refused.json.error).toContain(`this archive (${archive.length} bytes) and the org's other drafts (${archive.length} bytes)`);
    expect((await api.call('GET', `${apps(org)}/second/draft`, { key: org.key })).status).toBe(404);
    expect((await api.call('GET', `${apps(org)}/first/draft`, { key: org.key })).json.draft.revision).toBe(2);
    expect(await env.blobFiles()).toEqual(blobsBefore);
    await api.close();
  });

  it('refuses a build past ORG_MAX_BUILDS_IN_FLIGHT with 429 and retry-after, and queues builds fairly across orgs', async () => {
    const busy = await env.org();
    for (const name of ['one', 'two', 'three']) {
      await steps.createApp(api, busy, name);
      await steps.saveDraft(api, busy, name, archive);
    }
    const first = await steps.compile(api, busy, 'one');
    const second = await steps.compile(api, busy, 'two');
    const refused = await api.call('POST', `${apps(busy)}/three/builds`, { key: busy.key });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('10');
    expect(refused.json).toEqual({
      error: expect.stringContaining(
        `org "${busy.slug}" has 2 builds queued or running, the most it may have at once: wait for one to finish`,
      ),
      code: 'quota_exceeded',
      limit: 'builds_in_flight_per_org',
      max: 2,
      setting: 'ORG_MAX_BUILDS_IN_FLIGHT',
      retryAfterSeconds: 10,
    });
    // The same build asked for again is not a new one: no refusal.
    expect((await api.call('POST', `${apps(busy)}/one/builds`, { key: busy.key })).status).toBe(202);

    // Another org's first build goes ahead of this org's second: its priority is its place in its org.
    const quiet = await env.org();
    await steps.createApp(api, quiet, 'only');
    await steps.saveDraft(api, quiet, 'only', archive);
    const theirs = await steps.compile(api, quiet, 'only');
    const priority = async (id: string) => (await env.queue.getJob(id))?.opts.priority;
    expect([await priority(first), await priority(second), await priority(theirs)]).toEqual([1, 2, 1]);

    // A build that ends makes room.
    expect((await api.call('POST', `${apps(busy)}/one/builds/${first}/cancel`, { key: busy.key })).status).toBe(200);
    expect((await api.call('POST', `${apps(busy)}/three/builds`, { key: busy.key })).status).toBe(202);
  });

  it('deletes invocation records, build logs and function logs past their retention, and keeps the rest', async () => {
    const org = await env.org();
    await steps.createApp(api, org, 'kept');
    await steps.saveDraft(api, org, 'kept', archive);
    const app = await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name: 'kept' } });
    const now = Date.now();
    const old = {
      executionId: randomUUID(),
      appId: app.id,
      statusCode: 200,
      durationMs: 1,
      cold: false,
      createdAt: new Date(now - 8 * DAY_MS),
    };
    const recent = { ...old, executionId: randomUUID(), createdAt: new Date(now - 6 * DAY_MS) };
    await env.prisma.invocation.createMany({ data: [old, recent] });
    const logChunk = (instanceId: string, daysAgo: number) => {
      const at = new Date(now - daysAgo * DAY_MS);
      return {
        appId: app.id,
        releaseId: randomUUID(),
        entryId: `${instanceId}-entry`,
        lineCount: 1,
        firstAt: at,
        lastAt: at,
        executionIds: [],
        instanceIds: [instanceId],
        executions: [],
        streams: ['stderr'],
        texts: ['a line'],
        ats: [at],
        createdAt: at,
      };
    };
    await env.prisma.functionLogChunk.createMany({ data: [logChunk('old-instance', 8), logChunk('recent-instance', 6)] });

    const build = async (finishedDaysAgo: number) => {
      const id = randomUUID();
      const finishedAt = new Date(now - finishedDaysAgo * DAY_MS);
      await env.prisma.build.create({
        data: { id, appId: app.id, draftRevision: 1, sourceSha256: 'ab', target: 'native', status: 'failed', finishedAt, logLines: 2 },
      });
      await env.prisma.buildLogLine.createMany({
        data: [0, 1].map((seq) => ({ buildId: id, seq, stream: 'stderr', text: `line ${seq}` })),
      });
      return id;
    };
    const stale = await build(4);
    const fresh = await build(2);

    const swept = await api.app.get(RetentionService).sweep(new Date(now));
    expect(swept.invocations).toBeGreaterThanOrEqual(1);
    expect(swept.buildLogs).toBeGreaterThanOrEqual(1);
    expect(swept.functionLogLines).toBeGreaterThanOrEqual(1);
    const chunksLeft = await env.prisma.functionLogChunk.findMany({ where: { appId: app.id }, select: { instanceIds: true } });
    expect(chunksLeft.map((chunk) => chunk.instanceIds)).toEqual([['recent-instance']]);
    const left = await env.prisma.invocation.findMany({ where: { appId: app.id }, select: { executionId: true } });
    expect(left.map((row) => row.executionId)).toEqual([recent.executionId]);
    expect(await env.prisma.buildLogLine.count({ where: { buildId: stale } })).toBe(0);
    expect(await env.prisma.buildLogLine.count({ where: { buildId: fresh } })).toBe(2);
    expect((await env.prisma.build.findUniqueOrThrow({ where: { id: stale } })).logLines).toBe(0);
    // The builds themselves stay.
    expect(await env.prisma.build.count({ where: { id: { in: [stale, fresh] } } })).toBe(2);
  });
});
