import { randomUUID } from 'node:crypto';
import { channels, JobName } from '@ignite/contracts';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, waitFor } from '@ignite/testing';
import { request } from 'undici';
import { RUST_PROJECT, tarGz } from './archives';
import { steps, type TestApi, TestEnv } from './harness';

describe('builds (e2e)', () => {
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

  const builds = (app: string) => `/v1/orgs/${org.slug}/apps/${app}/builds`;

  it('refuses to compile an app without a draft (409)', async () => {
    await steps.createApp(api, org, 'nodraft');
    const reply = await api.call('POST', builds('nodraft'), { key: org.key });
    expect(reply.status).toBe(409);
    expect(reply.json).toEqual({ error: expect.stringContaining('has no draft to compile: save one first'), code: 'conflict' });
  });

  it('queues a build (202) with its job on the real queue, and returns the same build while it is queued', async () => {
    await steps.createApp(api, org, 'compiles', { rustTarget: 'wasm' });
    const saved = await steps.saveDraft(api, org, 'compiles', tarGz(RUST_PROJECT));

    const first = await api.call('POST', builds('compiles'), { key: org.key });
    expect(first.status).toBe(202);
    const build = first.json.build;
    expect(build).toMatchObject({
      status: 'queued',
      target: 'wasm',
      draftRevision: 1,
      sourceSha256: saved.json.sha256,
      startedAt: null,
      finishedAt: null,
    });

    const job = await env.queue.getJob(build.id);
    expect(job?.name).toBe(JobName.build);
    expect(job?.data).toEqual({ buildId: build.id });
    expect(job?.opts).toMatchObject({ attempts: 3, jobId: build.id });
    // Prioritized by its place among its org's builds in flight (fair queueing across orgs).
    expect(await job?.getState()).toBe('prioritized');
    expect(job?.opts.priority).toBe(1);

    const second = await api.call('POST', builds('compiles'), { key: org.key });
    expect(second.status).toBe(202);
    expect(second.json.build.id).toBe(build.id);

    // Running counts too; a finished build does not.
    await env.prisma.build.update({ where: { id: build.id }, data: { status: 'running', startedAt: new Date() } });
    expect((await api.call('POST', builds('compiles'), { key: org.key })).json.build.id).toBe(build.id);
    await env.prisma.build.update({ where: { id: build.id }, data: { status: 'failed', finishedAt: new Date() } });
    const third = await api.call('POST', builds('compiles'), { key: org.key });
    expect(third.json.build.id).not.toBe(build.id);

    const list = await api.call('GET', builds('compiles'), { key: org.key });
    expect(list.json.builds.map((b: { id: string }) => b.id)).toEqual([third.json.build.id, build.id]);
    const one = await api.call('GET', `${builds('compiles')}/${build.id}`, { key: org.key });
    expect(one.json.build).toMatchObject({ id: build.id, status: 'failed' });
    expect(one.json.build).toEqual(
      expect.objectContaining({
        queueWaitMs: null,
        unpackMs: null,
        buildMs: null,
        verifyMs: null,
        errorSummary: null,
        diagnostics: null,
        artifactSha256: null,
        artifactSize: null,
        toolchain: null,
        targetTriple: null,
      }),
    );
    expect((await api.call('GET', `${builds('compiles')}/${randomUUID()}`, { key: org.key })).status).toBe(404);
    expect((await api.call('GET', `${builds('compiles')}/not-a-uuid`, { key: org.key })).status).toBe(404);
  });

  it('makes one build out of 10 concurrent compiles', async () => {
    await steps.createApp(api, org, 'racing');
    await steps.saveDraft(api, org, 'racing', tarGz(RUST_PROJECT));
    const replies = await Promise.all(Array.from({ length: 10 }, () => api.call('POST', builds('racing'), { key: org.key })));
    expect(replies.map((reply) => reply.status)).toEqual(Array(10).fill(202));
    const ids = new Set(replies.map((reply) => reply.json.build.id));
    expect(ids.size).toBe(1);
    const app = await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name: 'racing' } });
    expect(await env.prisma.build.count({ where: { appId: app.id } })).toBe(1);
    expect(await env.queue.getJob([...ids][0] as string)).toBeDefined();
  });

  describe('logs', () => {
    let buildId: string;

    beforeAll(async () => {
      await steps.createApp(api, org, 'logs');
      await steps.saveDraft(api, org, 'logs', tarGz(RUST_PROJECT));
      buildId = await steps.compile(api, org, 'logs');
    });

    const insert = (from: number, count: number) =>
      env.prisma.buildLogLine.createMany({
        data: Array.from({ length: count }, (_, i) => ({ buildId, seq: from + i, stream: 'stderr', text: `line ${from + i}` })),
      });

    it('answers the whole log as text', async () => {
      await insert(1, 3);
      const reply = await api.call('GET', `${builds('logs')}/${buildId}/logs`, { key: org.key });
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(reply.text).toBe('line 1\nline 2\nline 3\n');
    });

    it('follows: streams lines as they are written and ends when the build finishes', async () => {
      const publisher = createRedis(testRedisUrl());
      const channel = channels.buildEvents(env.prefix, buildId);
      await env.prisma.build.update({ where: { id: buildId }, data: { status: 'running', startedAt: new Date() } });
      const response = await request(`${api.url}${builds('logs')}/${buildId}/logs?follow=true`, {
        headers: { authorization: `Bearer ${org.key}` },
      });
      expect(response.statusCode).toBe(200);
      let received = '';
      let ended = false;
      response.body.setEncoding('utf8');
      response.body.on('data', (chunk: string) => {
        received += chunk;
      });
      const done = new Promise<void>((resolve) => response.body.on('end', resolve)).then(() => {
        ended = true;
      });

      await waitFor(() => (received === 'line 1\nline 2\nline 3\n' ? true : undefined), 5_000, 'the lines already written');
      for (let seq = 4; seq <= 12; seq += 1) {
        await insert(seq, 1);
        await publisher.publish(channel, JSON.stringify({ type: 'log', seq, stream: 'stderr', text: `line ${seq}` }));
      }
      await waitFor(() => (received.endsWith('line 12\n') ? true : undefined), 5_000, 'the streamed lines');
      expect(ended).toBe(false);

      // Lines written just before the terminal status are sent before the end.
      await insert(13, 2);
      await env.prisma.build.update({ where: { id: buildId }, data: { status: 'succeeded', finishedAt: new Date() } });
      await publisher.publish(channel, JSON.stringify({ type: 'status', status: 'succeeded' }));
      await done;
      await publisher.quit();

      const expected = Array.from({ length: 14 }, (_, i) => `line ${i + 1}\n`).join('');
      expect(received).toBe(expected);
    });

    it('ends a follow at once for a finished build, and stops following when the client goes away', async () => {
      const finished = await api.call('GET', `${builds('logs')}/${buildId}/logs?follow=1`, { key: org.key });
      expect(finished.status).toBe(200);
      expect(finished.text.split('\n')).toHaveLength(15);

      const other = await steps.compile(api, org, 'logs');
      await env.prisma.build.update({ where: { id: other }, data: { status: 'running' } });
      const controller = new AbortController();
      const response = await request(`${api.url}${builds('logs')}/${other}/logs?follow=true`, {
        headers: { authorization: `Bearer ${org.key}` },
        signal: controller.signal,
      });
      expect(response.statusCode).toBe(200);
      const channel = channels.buildEvents(env.prefix, other);
      const subscribers = async () => Number(((await env.redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1]);
      expect(await subscribers()).toBe(1);
      controller.abort();
      await expect(response.body.text()).rejects.toThrow();
      // The follower is gone: it no longer listens on the build's channel.
      await waitFor(async () => ((await subscribers()) === 0 ? true : undefined), 5_000, 'the follower to unsubscribe');
      expect((await api.call('GET', '/healthz')).status).toBe(200);
      await env.prisma.build.update({ where: { id: other }, data: { status: 'canceled' } });
    });

    it('refuses a malformed follow flag (400)', async () => {
      const reply = await api.call('GET', `${builds('logs')}/${buildId}/logs?follow=maybe`, { key: org.key });
      expect(reply.status).toBe(400);
    });
  });

  describe('cancel', () => {
    it('cancels a queued build at once and removes its job', async () => {
      await steps.createApp(api, org, 'cancels');
      await steps.saveDraft(api, org, 'cancels', tarGz(RUST_PROJECT));
      const buildId = await steps.compile(api, org, 'cancels');
      expect(await env.queue.getJob(buildId)).toBeDefined();

      const reply = await api.call('POST', `${builds('cancels')}/${buildId}/cancel`, { key: org.key });
      expect(reply.status).toBe(200);
      expect(reply.json.build).toMatchObject({ id: buildId, status: 'canceled', errorSummary: 'canceled before it started' });
      expect(reply.json.build.finishedAt).not.toBeNull();
      expect(await env.queue.getJob(buildId)).toBeUndefined();

      const again = await api.call('POST', `${builds('cancels')}/${buildId}/cancel`, { key: org.key });
      expect(again.status).toBe(409);
      expect(again.json).toMatchObject({ code: 'conflict', status: 'canceled' });
    });

    it('asks the worker to stop a running build', async () => {
      const subscriber = createRedis(testRedisUrl());
      const messages: string[] = [];
      subscriber.on('message', (_channel: string, message: string) => messages.push(message));
      await subscriber.subscribe(`${env.prefix}:build-cancel`);

      const buildId = await steps.compile(api, org, 'cancels');
      await env.prisma.build.update({ where: { id: buildId }, data: { status: 'running', startedAt: new Date() } });
      const reply = await api.call('POST', `${builds('cancels')}/${buildId}/cancel`, { key: org.key });
      expect(reply.status).toBe(202);
      expect(reply.json.build).toMatchObject({ id: buildId, status: 'running' });
      expect(reply.json.build.cancelRequestedAt).not.toBeNull();
      await waitFor(() => (messages.length > 0 ? true : undefined), 5_000, 'the cancel message');
      expect(messages.map((message) => JSON.parse(message))).toEqual([{ buildId }]);
      await subscriber.quit();

      await env.prisma.build.update({ where: { id: buildId }, data: { status: 'succeeded' } });
      expect((await api.call('POST', `${builds('cancels')}/${buildId}/cancel`, { key: org.key })).status).toBe(409);
    });
  });
});
