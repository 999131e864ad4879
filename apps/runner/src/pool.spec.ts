jest.mock('uuid', () => require('./testing/uuid-v7'));

import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { channels, type ReleaseActivated } from '@ignite/contracts';
import type { PrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, waitFor } from '@ignite/testing';
import type { Redis } from 'ioredis';
import { buildFixtures, type FixturePrograms } from './testing/fixtures';
import {
  type Answer,
  addRelease,
  cleanup,
  invoke,
  publish,
  type SeededFunction,
  seedFunction,
  startRunner,
  type TestRunner,
  testPrisma,
} from './testing/harness';

describe('instance pool: concurrency, saturation, release switches, eviction', () => {
  let programs: FixturePrograms;
  let prisma: PrismaClient;
  let redis: Redis;
  const runners: TestRunner[] = [];
  const seeded: SeededFunction[] = [];

  const runner = async (overrides: Record<string, string>) => {
    const t = await startRunner(overrides);
    runners.push(t);
    return t;
  };
  const seed = async (t: TestRunner, options: Parameters<typeof seedFunction>[2]) => {
    const fn = await seedFunction(prisma, t.store, options);
    seeded.push(fn);
    return fn;
  };
  const readyInstances = (t: TestRunner, fn: SeededFunction) =>
    t.logs.filter((r) => r.msg === 'instance ready' && r.functionId === fn.functionId).length;

  beforeAll(async () => {
    programs = await buildFixtures();
    prisma = testPrisma();
    redis = createRedis(testRedisUrl());
  }, 900_000);

  afterAll(async () => {
    await Promise.all(runners.map((t) => t.stop()));
    redis?.disconnect();
    if (prisma) {
      await cleanup(prisma, seeded);
      await prisma.$disconnect();
    }
  });

  it('serves 100 simultaneous invocations within the per-function cap, queueing what does not fit', async () => {
    const t = await runner({
      RUNNER_MAX_INSTANCES_PER_FUNCTION: '2',
      RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: '4',
      RUNNER_QUEUE_LENGTH: '200',
      RUNNER_QUEUE_WAIT_MS: '20000',
    });
    const fn = await seed(t, { program: programs.hello });
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => invoke(t.url, fn, { message: `m${i}` })));
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
    expect(answers.map((a) => (a.body as { message: string }).message)).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`));
    expect(readyInstances(t, fn)).toBeLessThanOrEqual(2);
    expect(new Set(answers.map((a) => a.headers.get('x-ignite-execution-id'))).size).toBe(100);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/ignite_runner_queue_wait_seconds_count [1-9]\d*/);
  });

  it('answers 503 JSON beyond the queue, and after waiting too long in it', async () => {
    const t = await runner({
      RUNNER_MAX_INSTANCES_PER_FUNCTION: '1',
      RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: '1',
      RUNNER_QUEUE_LENGTH: '2',
      RUNNER_QUEUE_WAIT_MS: '20000',
    });
    const fn = await seed(t, { program: programs.faults });
    expect((await invoke(t.url, fn, { action: 'hello' })).status).toBe(200); // warm

    const answers = await Promise.all(Array.from({ length: 6 }, () => invoke(t.url, fn, { action: 'sleep', ms: 1500 })));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([200, 200, 200, 503, 503, 503]);
    for (const refused of answers.filter((a) => a.status === 503)) {
      expect(refused.body).toEqual({
        error: `${fn.functionId} is saturated: every instance is busy and the queue is full; retry later`,
        code: 'unavailable',
      });
    }

    const impatient = await runner({
      RUNNER_MAX_INSTANCES_PER_FUNCTION: '1',
      RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: '1',
      RUNNER_QUEUE_WAIT_MS: '200',
    });
    const slow = await seed(impatient, { program: programs.faults });
    expect((await invoke(impatient.url, slow, { action: 'hello' })).status).toBe(200);
    const [busy, waited] = await Promise.all([
      invoke(impatient.url, slow, { action: 'sleep', ms: 1500 }),
      new Promise<Answer>((resolve) => setTimeout(() => resolve(invoke(impatient.url, slow, { action: 'hello' })), 100)),
    ]);
    expect(busy.status).toBe(200);
    expect(waited.status).toBe(503);
    expect(waited.body).toEqual({
      error: `${slow.functionId} is saturated: no instance was free within 200 ms; retry later`,
      code: 'unavailable',
    });
  });

  it('switches to a newly published release under load without failing a request', async () => {
    const t = await runner({ RUNNER_MAX_INSTANCES_PER_FUNCTION: '2', RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: '2' });
    // Release 1 is the faults program, release 2 the semantics one: both sleep, and answer differently.
    const fn = await seed(t, { program: programs.faults, env: { RELEASE_TAG: 'faults' } });
    const seen: { status: number; release: string | null; tag: unknown }[] = [];
    let published = false;
    let newAnswers = 0;
    const worker = async () => {
      while (!published || newAnswers < 40) {
        const answer = await invoke(t.url, fn, { action: 'sleep', ms: 5 });
        const release = answer.headers.get('x-ignite-release');
        if (published && release === '2') newAnswers++;
        seen.push({ status: answer.status, release, tag: (answer.body as { tag?: unknown } | null)?.tag });
      }
    };
    const load = Promise.all([worker(), worker(), worker(), worker()]);
    await waitFor(() => (seen.length >= 40 ? true : undefined));
    await publish(prisma, redis, t.prefix, t.store, fn, programs.semantics);
    published = true;
    await load;

    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    expect(seen[0]).toMatchObject({ release: '1', tag: 'faults' });
    const last = seen.slice(-20);
    expect(last.every((s) => s.release === '2' && s.tag === undefined)).toBe(true);
    // The old release's instances drained and stopped.
    await waitFor(() =>
      t.logs.some((r) => r.msg === 'instance exited' && r.functionId === fn.functionId && r.release === 1 && r.cause === 'stopped')
        ? true
        : undefined,
    );
  });

  it("verifies a native release's artifact when it is announced: a corrupt one is found before anyone calls", async () => {
    const t = await runner({});
    const fn = await seed(t, { program: programs.hello });
    // Release 2: bytes of its own (a blob the runner has never seen), corrupted in the store.
    const program = join(t.dataDir, 'hello-2');
    await writeFile(program, Buffer.concat([await readFile(programs.hello), randomBytes(16)]), { mode: 0o755 });
    const releaseId = await addRelease(prisma, t.store, fn.appId, program);
    const { artifactSha256, number } = await prisma.release.findUniqueOrThrow({ where: { id: releaseId } });
    const blob = t.store.pathOf(artifactSha256);
    await chmod(blob, 0o755);
    await writeFile(blob, 'not the program');
    const event: ReleaseActivated = { appId: fn.appId, functionId: fn.functionId, releaseId, number };
    await redis.publish(channels.releases(t.prefix), JSON.stringify(event));

    // Nobody invoked it: the runner checked the artifact on the notice, and the store dropped the corrupt copy.
    await waitFor(async () => ((await t.store.has(artifactSha256)) ? undefined : true));
    const warning = await waitFor(() =>
      t.logs.find((r) => r.msg === 'could not prepare the new release' && r.functionId === fn.functionId),
    );
    expect(JSON.stringify(warning)).toContain(`${artifactSha256} is corrupt`);
    expect(t.logs.filter((r) => r.msg === 'instance ready' && r.functionId === fn.functionId)).toEqual([]);
  });

  it('evicts the least recently used idle instance when the runner is full, and stops idle ones', async () => {
    const t = await runner({ RUNNER_MAX_INSTANCES: '2', RUNNER_IDLE_TIMEOUT_MS: '1000' });
    const [a, b, c] = [
      await seed(t, { program: programs.hello }),
      await seed(t, { program: programs.hello }),
      await seed(t, { program: programs.hello }),
    ];
    const order = [a, b, a, c, a, b];
    const answers: Answer[] = [];
    for (const fn of order) answers.push(await invoke(t.url, fn, { message: 'x' }));
    expect(answers.map((x) => x.status)).toEqual(Array(6).fill(200));
    // a stays warm (used most recently each time), b is evicted for c, then c for b.
    expect(answers.map((x) => x.headers.get('x-ignite-cold'))).toEqual(['true', 'true', 'false', 'true', 'false', 'true']);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/ignite_runner_instance_evictions_total 2/);

    await waitFor(async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      return /ignite_runner_instances\{state="ready"\} 0/.test(text) ? true : undefined;
    }, 10_000);
    const again = await invoke(t.url, a, { message: 'back' });
    expect(again.status).toBe(200);
    expect(again.headers.get('x-ignite-cold')).toBe('true');
  });
});
