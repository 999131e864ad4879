import { randomUUID } from 'node:crypto';
import { channels } from '@ignite/contracts';
import { waitFor } from '@ignite/testing';
import { steps, type TestApi, TestEnv } from './harness';

/** The invocations consumer after Redis lost its data (a restart without it, a failover): a stream and a group of its own here. */
describe('invocations consumer recovery (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let appId: string;

  beforeAll(async () => {
    await env.setup();
    api = await env.start();
    const org = await env.org();
    await steps.createApp(api, org, 'fn');
    appId = (await env.prisma.app.findFirstOrThrow({ where: { orgId: org.id, name: 'fn' } })).id;
  });

  afterAll(async () => {
    await env.teardown();
  });

  it('records again after Redis lost the stream and its consumer group', async () => {
    const stream = channels.invocations(env.prefix);
    await waitFor(
      async () => (((await env.redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[]).length > 0 ? true : undefined),
      10_000,
      'the consumer group',
    );
    // What a Redis restarted without its data has: neither the stream nor the group.
    await env.redis.del(stream);
    // The consumer's next read fails with NOGROUP; it makes the group again (MKSTREAM) and reads from the start.
    await waitFor(
      async () => (((await env.redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[]).length > 0 ? true : undefined),
      10_000,
      'the consumer group made again',
    );
    const executionId = randomUUID();
    const report = {
      executionId,
      appId,
      releaseId: randomUUID(),
      statusCode: 200,
      durationMs: 1,
      cold: false,
      error: null,
      at: '2026-01-02T00:00:00.000Z',
    };
    await env.redis.xadd(stream, '*', 'reports', JSON.stringify([report]));
    await waitFor(
      async () => ((await env.prisma.invocation.count({ where: { executionId } })) === 1 ? true : undefined),
      10_000,
      'the report recorded',
    );
  });
});
