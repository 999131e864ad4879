import { channels, ReleaseActivatedSchema } from '@ignite/contracts';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, waitFor } from '@ignite/testing';
import type { Redis } from 'ioredis';
import { RUST_PROJECT, tarGz } from './archives';
import { steps, type TestApi, TestEnv } from './harness';

describe('releases (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let org: { id: string; slug: string; key: string };
  let subscriber: Redis;
  const notices: unknown[] = [];

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
    org = await env.org();
    subscriber = createRedis(testRedisUrl());
    subscriber.on('message', (_channel: string, message: string) => notices.push(JSON.parse(message)));
    await subscriber.subscribe(channels.releases(env.prefix));
  });

  afterAll(async () => {
    await subscriber.quit();
    await env.teardown();
  });

  const releases = (app: string) => `/v1/orgs/${org.slug}/apps/${app}/releases`;
  const appId = async (name: string) => (await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name } })).id;

  it('refuses to publish without a draft, before a compile, while building, after a failure (409 with the reason)', async () => {
    await steps.createApp(api, org, 'early');
    const noDraft = await steps.publish(api, org, 'early');
    expect(noDraft.status).toBe(409);
    expect(noDraft.json.error).toContain('has no draft');

    await steps.saveDraft(api, org, 'early', tarGz(RUST_PROJECT));
    const notCompiled = await steps.publish(api, org, 'early');
    expect(notCompiled.status).toBe(409);
    expect(notCompiled.json.error).toContain('draft revision 1 was never compiled');

    const buildId = await steps.compile(api, org, 'early');
    const queued = await steps.publish(api, org, 'early');
    expect(queued.status).toBe(409);
    expect(queued.json).toMatchObject({ code: 'conflict', status: 'queued', buildId });
    expect(queued.json.error).toContain('is still queued');

    await env.prisma.build.update({ where: { id: buildId }, data: { status: 'running' } });
    expect((await steps.publish(api, org, 'early')).json.error).toContain('is still running');

    await env.prisma.build.update({
      where: { id: buildId },
      data: { status: 'failed', errorSummary: 'error[E0425]: cannot find value `x`' },
    });
    const failed = await steps.publish(api, org, 'early', { buildId });
    expect(failed.status).toBe(409);
    expect(failed.json.error).toContain('failed: error[E0425]: cannot find value `x`');

    expect(await env.prisma.release.count({ where: { appId: await appId('early') } })).toBe(0);
  });

  it('refuses a build of an older draft revision', async () => {
    await steps.createApp(api, org, 'stale');
    await steps.saveDraft(api, org, 'stale', tarGz(RUST_PROJECT));
    const buildId = await steps.compile(api, org, 'stale');
    await steps.succeed(env, buildId);
    await steps.saveDraft(api, org, 'stale', tarGz({ ...RUST_PROJECT, 'README.md': 'v2' }));

    const latest = await steps.publish(api, org, 'stale');
    expect(latest.status).toBe(409);
    expect(latest.json).toMatchObject({ code: 'conflict', draftRevision: 2, buildRevision: 1 });
    expect(latest.json.error).toContain('made from draft revision 1, but the draft is now at revision 2');
    const explicit = await steps.publish(api, org, 'stale', { buildId });
    expect(explicit.status).toBe(409);
    expect(explicit.json.error).toContain('compile it again');
  });

  it('validates the optional body', async () => {
    await steps.createApp(api, org, 'bodies');
    expect((await steps.publish(api, org, 'bodies', { buildId: 'nope' })).status).toBe(400);
    expect((await steps.publish(api, org, 'bodies', { other: 1 })).status).toBe(400);
    expect((await steps.publish(api, org, 'bodies', {})).status).toBe(409);
  });

  it('publishes release 1, then 2, activates each and announces it; rollback activates an older one', async () => {
    await steps.createApp(api, org, 'ships');
    const id = await appId('ships');
    await steps.saveDraft(api, org, 'ships', tarGz(RUST_PROJECT));
    const firstBuild = await steps.compile(api, org, 'ships');
    const firstArtifact = await steps.succeed(env, firstBuild);

    const first = await steps.publish(api, org, 'ships');
    expect(first.status).toBe(201);
    expect(first.json.release).toMatchObject({
      number: 1,
      buildId: firstBuild,
      target: 'native',
      artifactSha256: firstArtifact,
      artifactSize: 32,
      active: true,
    });
    await waitFor(
      () => notices.find((notice) => (notice as { releaseId?: string }).releaseId === first.json.release.id),
      5_000,
      'release 1 notice',
    );

    await steps.saveDraft(api, org, 'ships', tarGz({ ...RUST_PROJECT, 'README.md': 'v2' }));
    const secondBuild = await steps.compile(api, org, 'ships');
    await steps.succeed(env, secondBuild);
    const second = await steps.publish(api, org, 'ships', { buildId: secondBuild });
    expect(second.status).toBe(201);
    expect(second.json.release).toMatchObject({ number: 2, buildId: secondBuild, active: true });

    const list = await api.call('GET', releases('ships'), { key: org.key });
    expect(list.json.releases.map((r: { number: number; active: boolean }) => [r.number, r.active])).toEqual([
      [2, true],
      [1, false],
    ]);

    notices.length = 0;
    const rollback = await api.call('POST', `${releases('ships')}/1/activate`, { key: org.key });
    expect(rollback.status).toBe(200);
    expect(rollback.json.release).toMatchObject({ number: 1, active: true });
    const notice = await waitFor(() => notices[0], 5_000, 'the rollback notice');
    expect(ReleaseActivatedSchema.parse(notice)).toEqual({
      appId: id,
      functionId: `${org.slug}/ships`,
      releaseId: first.json.release.id,
      number: 1,
    });

    const app = await api.call('GET', `/v1/orgs/${org.slug}/apps/ships`, { key: org.key });
    expect(app.json.app).toMatchObject({ activeReleaseNumber: 1, activeRelease: { number: 1, active: true } });

    expect((await api.call('POST', `${releases('ships')}/3/activate`, { key: org.key })).status).toBe(404);
    expect((await api.call('POST', `${releases('ships')}/zero/activate`, { key: org.key })).status).toBe(404);

    // Forward again, and the same build may be published once more as a new release.
    expect((await api.call('POST', `${releases('ships')}/2/activate`, { key: org.key })).json.release.active).toBe(true);
    expect((await steps.publish(api, org, 'ships')).json.release).toMatchObject({ number: 3, buildId: secondBuild });
  });

  it('says when the newest release was published in every app view: null until the first', async () => {
    const app = `/v1/orgs/${org.slug}/apps/dated`;
    const listed = async () =>
      (await api.call('GET', `/v1/orgs/${org.slug}/apps`, { key: org.key })).json.apps.find((a: { name: string }) => a.name === 'dated');
    expect((await steps.createApp(api, org, 'dated')).json.app.lastReleasedAt).toBeNull();
    expect((await api.call('GET', app, { key: org.key })).json.app.lastReleasedAt).toBeNull();
    expect((await listed()).lastReleasedAt).toBeNull();
    expect((await api.call('PATCH', app, { key: org.key, json: { auth: 'public' } })).json.app.lastReleasedAt).toBeNull();

    await steps.saveDraft(api, org, 'dated', tarGz(RUST_PROJECT));
    await steps.succeed(env, await steps.compile(api, org, 'dated'));
    const first = await steps.publish(api, org, 'dated');
    expect(first.status).toBe(201);
    expect((await api.call('GET', app, { key: org.key })).json.app.lastReleasedAt).toBe(first.json.release.createdAt);
    const second = await steps.publish(api, org, 'dated');
    expect(second.status).toBe(201);
    const newest = second.json.release.createdAt as string;
    // A rollback activates an older release; the newest is still the newest.
    expect((await api.call('POST', `${releases('dated')}/1/activate`, { key: org.key })).status).toBe(200);
    expect((await api.call('GET', app, { key: org.key })).json.app).toMatchObject({ activeReleaseNumber: 1, lastReleasedAt: newest });
    expect((await listed()).lastReleasedAt).toBe(newest);
    expect((await api.call('PATCH', app, { key: org.key, json: { auth: 'key' } })).json.app.lastReleasedAt).toBe(newest);
    expect((await api.call('PATCH', `${app}/env`, { key: org.key, json: { set: { A: '1' } } })).json.app.lastReleasedAt).toBe(newest);
  });

  it('numbers concurrent publishes without duplicates', async () => {
    await steps.createApp(api, org, 'concurrent');
    await steps.saveDraft(api, org, 'concurrent', tarGz(RUST_PROJECT));
    await steps.succeed(env, await steps.compile(api, org, 'concurrent'));

    const replies = await Promise.all(Array.from({ length: 6 }, () => steps.publish(api, org, 'concurrent')));
    for (const reply of replies) expect([201, 409]).toContain(reply.status);
    const numbers = replies.filter((reply) => reply.status === 201).map((reply) => reply.json.release.number as number);
    expect(numbers.length).toBeGreaterThan(0);
    expect(new Set(numbers).size).toBe(numbers.length);
    expect([...numbers].sort((x, y) => x - y)).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));
    const rows = await env.prisma.release.findMany({ where: { appId: await appId('concurrent') }, orderBy: { number: 'asc' } });
    expect(rows.map((row) => row.number)).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));
  });
});
