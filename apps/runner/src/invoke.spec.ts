jest.mock('uuid', () => require('./testing/uuid-v7'));

import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PrismaClient } from '@ignite/database';
import { waitFor } from '@ignite/testing';
import { buildFixtures, type FixturePrograms } from './testing/fixtures';
import {
  cleanup,
  functionLogLine,
  invoke,
  isAlive,
  pidsStarted,
  reportsOf,
  type SeededFunction,
  seedFunction,
  startRunner,
  type TestRunner,
  testPrisma,
} from './testing/harness';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('runner: invocations against real programs', () => {
  let programs: FixturePrograms;
  let prisma: PrismaClient;
  let t: TestRunner;
  const seeded: SeededFunction[] = [];
  const seed = async (options: Parameters<typeof seedFunction>[2]) => {
    const fn = await seedFunction(prisma, t.store, options);
    seeded.push(fn);
    return fn;
  };
  let hello: SeededFunction;
  let semantics: SeededFunction;
  let faults: SeededFunction;
  let sleepy: SeededFunction;

  beforeAll(async () => {
    programs = await buildFixtures();
    prisma = testPrisma();
    t = await startRunner({ RUNNER_START_TIMEOUT_MS: '1500', RUNNER_MEMORY_CHECK_INTERVAL_MS: '50' });
    hello = await seed({ program: programs.hello, app: 'hello' });
    semantics = await seed({ program: programs.semantics, env: { GREETING: 'hi' } });
    faults = await seed({ program: programs.faults, memoryMb: 64 });
    sleepy = await seed({ program: programs.semantics, timeoutMs: 500 });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
    if (prisma) {
      await cleanup(prisma, seeded);
      await prisma.$disconnect();
    }
  });

  it('answers 200 with the handler JSON and the invocation headers', async () => {
    const first = await invoke(t.url, hello, { message: 'hi there' });
    expect(first.status).toBe(200);
    const executionId = first.headers.get('x-ignite-execution-id');
    expect(executionId).toMatch(UUID_V7);
    expect(first.body).toEqual({ message: 'hi there', execution_id: executionId, function_id: hello.functionId });
    expect(first.headers.get('content-type')).toBe('application/json');
    expect(first.headers.get('x-ignite-cold')).toBe('true');
    expect(first.headers.get('x-ignite-release')).toBe('1');
    expect(Number(first.headers.get('x-ignite-duration-ms'))).toBeGreaterThanOrEqual(0);

    const second = await invoke(t.url, hello, {});
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ignite-cold')).toBe('false');
    expect(second.body).toMatchObject({ message: 'Hello from Rust!', function_id: hello.functionId });
    expect(second.headers.get('x-ignite-execution-id')).not.toBe(executionId);
  });

  it('forwards the method, sub-path, query, headers and body, and no caller-supplied platform header', async () => {
    const answer = await invoke(
      t.url,
      semantics,
      { action: 'echo', n: 1 },
      {
        method: 'PUT',
        path: '/orders/42?name=ada&tag=x',
        headers: { 'X-Test-Header': 'yes', 'x-ignite-execution-id': 'forged', 'x-ignite-function-id': 'other/app' },
      },
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      method: 'PUT',
      path: '/orders/42',
      query: 'name=ada&tag=x',
      name: 'ada',
      tag: 'x',
      header: 'yes',
      body: { action: 'echo', n: 1 },
      function_id: semantics.functionId,
    });
    expect((answer.body as { execution_id: string }).execution_id).toBe(answer.headers.get('x-ignite-execution-id'));
    expect(answer.headers.get('x-ignite-execution-id')).toMatch(UUID_V7);
  });

  it('turns Err and panic into 500 {"error"} and keeps serving', async () => {
    const err = await invoke(t.url, semantics, { action: 'err', message: 'order not paid' });
    expect(err.status).toBe(500);
    expect(err.body).toEqual({ error: 'order not paid' });
    expect((await invoke(t.url, semantics, { action: 'echo' })).status).toBe(200);

    const panic = await invoke(t.url, semantics, { action: 'panic', message: 'boom' });
    expect(panic.status).toBe(500);
    expect(panic.body).toEqual({ error: 'boom' });
    const after = await invoke(t.url, semantics, { action: 'echo' });
    expect(after.status).toBe(200);
    expect(after.headers.get('x-ignite-cold')).toBe('false');
  });

  it('relays a streamed answer as it comes', async () => {
    const response = await fetch(`${t.url}/v1/invoke/${semantics.functionId}`, {
      method: 'POST',
      body: JSON.stringify({ action: 'stream', key: 'relay-test' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ignite-execution-id')).toMatch(UUID_V7);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    // Chunk 1 arrives while the handler still waits for its gate.
    const first = await reader.read();
    expect(decoder.decode(first.value)).toContain('"chunk":1');
    expect((await invoke(t.url, semantics, { action: 'release', key: 'relay-test' })).status).toBe(200);
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    expect(rest).toContain('"chunk":2');
    expect(rest).toContain('"done":true');
  });

  it('refuses a body over the limit with 413 JSON', async () => {
    const answer = await invoke(t.url, semantics, 'x'.repeat(7 * 1024 * 1024));
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({
      error: 'request body is larger than the limit of 6291456 bytes',
      code: 'payload_too_large',
      limitBytes: 6291456,
    });
  });

  it('passes a bad JSON body through as the program’s 400', async () => {
    const answer = await invoke(t.url, semantics, '{"action": nope');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.stringContaining('not valid JSON') });
  });

  it('answers JSON errors for unknown apps, apps with nothing published and a wasm release that is not a component', async () => {
    const unknown = await invoke(t.url, { functionId: 'no-such-org/no-such-app' }, {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: 'no app no-such-org/no-such-app', code: 'not_found' });
    expect(unknown.headers.get('x-ignite-execution-id')).toMatch(UUID_V7);

    const unpublished = await seed({});
    const none = await invoke(t.url, unpublished, {});
    expect(none.status).toBe(404);
    expect(none.body).toEqual({ error: expect.stringContaining('has no published release: publish one'), code: 'not_found' });

    const wasm = await seed({ program: programs.hello, target: 'wasm' });
    const answer = await invoke(t.url, wasm, {});
    // A wasm release whose artifact is not a component (a native program here) is the platform's fault.
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 500,
      body: {
        error: expect.stringContaining("the release's component could not be compiled for this runner's wasm host"),
        code: 'internal',
      },
    });

    const bad = await fetch(`${t.url}/v1/invoke/only-org`);
    expect(bad.status).toBe(404);
    expect(await bad.json()).toMatchObject({ code: 'not_found' });
  });

  it('gives the program its app env and the platform variables, none of the runner’s', async () => {
    const envApp = await seed({ program: programs.faults, env: { GREETING: 'hi', DATABASE_URL: 'app-owned' } });
    const answer = await invoke(t.url, envApp, { action: 'env' });
    expect(answer.status).toBe(200);
    const names = (answer.body as { names: string[] }).names;
    expect(names).toEqual(
      expect.arrayContaining(['GREETING', 'IGNITE_LISTEN_FD', 'IGNITE_READY_FD', 'IGNITE_FUNCTION_ID', 'MALLOC_ARENA_MAX']),
    );
    // A sandbox has no network: no port, no probe.
    expect(names).not.toContain('PORT');
    expect(names).not.toContain('IGNITE_PROBE_PORT');
    const allowed = new Set(['GREETING', 'DATABASE_URL', 'PATH', 'MALLOC_ARENA_MAX']);
    // NODE_CHANNEL_*: the runner's channel to the serve loop (direct connections).
    expect(names.filter((name) => !allowed.has(name) && !name.startsWith('IGNITE_') && !name.startsWith('NODE_CHANNEL_'))).toEqual([]);
    expect(names).not.toContain('REDIS_URL');
    expect(names).not.toContain('IGNITE_QUEUE_PREFIX');
  });

  it('answers 504 past the time limit, kills that instance, and other functions keep answering', async () => {
    const slow = invoke(t.url, sleepy, { action: 'sleep', ms: 20_000 });
    const meanwhile = await invoke(t.url, hello, { message: 'still here' });
    expect(meanwhile.status).toBe(200);
    const timedOut = await slow;
    expect(timedOut.status).toBe(504);
    expect(timedOut.body).toEqual({ error: 'the function did not finish within its time limit of 500 ms', code: 'function_timeout' });

    const next = await invoke(t.url, sleepy, { action: 'sleep', ms: 1 });
    expect(next.status).toBe(200);
    expect(next.headers.get('x-ignite-cold')).toBe('true');
    await waitFor(() =>
      t.logs.some((r) => r.msg === 'instance exited' && r.functionId === sleepy.functionId && r.cause === 'killed') ? true : undefined,
    );
  });

  it('kills a program over its memory limit with a JSON error, and serves the next call', async () => {
    const answer = await invoke(t.url, faults, { action: 'alloc' });
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: 'the function exceeded its memory limit of 64 MiB and was stopped', code: 'function_error' });
    const next = await invoke(t.url, faults, { action: 'hello' });
    expect(next.status).toBe(200);
    expect(next.headers.get('x-ignite-cold')).toBe('true');
  });

  it('fails only the requests of a program that dies mid-request, then starts a new one', async () => {
    const other = invoke(t.url, hello, { message: 'unaffected' });
    const exited = await invoke(t.url, faults, { action: 'exit' });
    expect(exited.status).toBe(500);
    expect(exited.body).toEqual({
      error: "the function's process exited while handling the request (exit code 3)",
      code: 'function_error',
    });
    expect((await other).status).toBe(200);
    const next = await invoke(t.url, faults, { action: 'hello' });
    expect(next.status).toBe(200);
    expect(next.headers.get('x-ignite-cold')).toBe('true');

    const aborted = await invoke(t.url, faults, { action: 'abort' });
    expect(aborted.status).toBe(500);
    expect(aborted.body).toMatchObject({ error: expect.stringContaining('killed by SIGABRT'), code: 'function_error' });
    expect((await invoke(t.url, faults, { action: 'hello' })).status).toBe(200);
  });

  it('answers 502 JSON when the program speaks garbage, hangs up, never gets ready or exits at start', async () => {
    const garbage = await seed({ program: programs.raw, env: { RAW_MODE: 'garbage' } });
    const closer = await seed({ program: programs.raw, env: { RAW_MODE: 'close' } });
    const never = await seed({ program: programs.raw, env: { RAW_MODE: 'never-ready' } });
    const early = await seed({ program: programs.raw, env: { RAW_MODE: 'exit-early' } });

    const [a, b, c, d] = await Promise.all([
      invoke(t.url, garbage, {}),
      invoke(t.url, closer, {}),
      invoke(t.url, never, {}),
      invoke(t.url, early, {}),
    ]);
    expect(a.status).toBe(502);
    expect(a.body).toEqual({ error: 'the function answered with a malformed HTTP response', code: 'bad_gateway' });
    expect(b.status).toBe(502);
    expect(b.body).toEqual({ error: 'the function closed the connection without answering', code: 'bad_gateway' });
    expect(c.status).toBe(502);
    expect(c.body).toEqual({ error: 'the function did not become ready within 1500 ms', code: 'bad_gateway' });
    expect(d.status).toBe(502);
    expect(d.body).toEqual({
      error: 'the function exited before it was ready (exit code 2): raw: giving up before listening',
      code: 'bad_gateway',
    });
    // The runner itself is unharmed.
    expect((await invoke(t.url, hello, {})).status).toBe(200);
  });

  it('ships the program’s stderr lines with their app, release, instance and execution', async () => {
    const answer = await invoke(t.url, semantics, { action: 'echo' });
    const executionId = answer.headers.get('x-ignite-execution-id');
    const line = await functionLogLine(t.prefix, (l) => l.text === `handler called ${executionId}`);
    expect(line).toMatchObject({ appId: semantics.appId, releaseId: semantics.releaseId, executionId, stream: 'stderr' });
    expect(line.instanceId).toEqual(expect.any(String));
    // The function's lines are its owner's, not the runner's own log (only at debug level there).
    expect(t.logs.some((r) => r.text === `handler called ${executionId}`)).toBe(false);
  });

  it('reports every invocation on the stream', async () => {
    const ok = await invoke(t.url, hello, {});
    const failed = await invoke(t.url, semantics, { action: 'err', message: 'nope' });
    const ids = [ok, failed].map((a) => a.headers.get('x-ignite-execution-id'));
    const byId = await reportsOf(t.prefix, ids);
    expect(byId.get(ids[0]!)).toMatchObject({ appId: hello.appId, releaseId: hello.releaseId, statusCode: 200, error: null, cold: false });
    expect(byId.get(ids[1]!)).toMatchObject({ appId: semantics.appId, releaseId: semantics.releaseId, statusCode: 500, error: 'nope' });
  });

  it('reports a caller that hangs up, and the instance keeps serving', async () => {
    const controller = new AbortController();
    const pending = fetch(`${t.url}/v1/invoke/${semantics.functionId}`, {
      method: 'POST',
      body: JSON.stringify({ action: 'sleep', ms: 1500 }),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    const started = await functionLogLine(t.prefix, (l) => l.appId === semantics.appId && l.text.startsWith('sleep started'));
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    const executionId = String(started.text).split(' ')[2]!;
    const byId = await reportsOf(t.prefix, [executionId]);
    expect(byId.get(executionId)).toMatchObject({
      statusCode: 499,
      error: 'the caller closed the connection before the answer was complete',
    });
    expect((await invoke(t.url, semantics, { action: 'echo' })).status).toBe(200);
  });

  it('answers 500 JSON when the artifact is missing from the store', async () => {
    const lost = await seed({ program: programs.hello });
    const release = await prisma.release.findUniqueOrThrow({ where: { id: lost.releaseId! } });
    // A release pointing at an artifact the store does not hold.
    await prisma.release.update({ where: { id: release.id }, data: { artifactSha256: 'f'.repeat(64) } });
    const answer = await invoke(t.url, lost, {});
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: `the release's artifact ${'f'.repeat(64)} is missing from the artifact store`, code: 'internal' });
  });

  it('answers 500 JSON when the artifact is corrupt, and runs nothing', async () => {
    const unique = join(t.dataDir, 'unique-hello');
    await writeFile(unique, Buffer.concat([await readFile(programs.hello), randomBytes(32)]), { mode: 0o755 });
    const tampered = await seed({ program: unique });
    const { artifactSha256 } = await prisma.release.findUniqueOrThrow({ where: { id: tampered.releaseId! } });
    const blob = t.store.pathOf(artifactSha256);
    await chmod(blob, 0o644);
    await writeFile(blob, 'not the program');
    const answer = await invoke(t.url, tampered, {});
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: `the release's artifact ${artifactSha256} is corrupt in the artifact store`, code: 'internal' });
    expect(await t.store.has(artifactSha256)).toBe(false);
  });

  it('serves health, readiness and metrics', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { postgres: true, redis: true } });
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/ignite_runner_invocations_total\{status="200"\} \d+/);
    expect(metrics).toMatch(/ignite_runner_invocations_total\{status="504"\} 1/);
    expect(metrics).toMatch(/ignite_runner_cold_start_seconds_count \d+/);
    expect(metrics).toMatch(/ignite_runner_instances\{state="ready"\} \d+/);
    expect(metrics).toMatch(/ignite_runner_instance_exits_total\{cause="memory"\} 1/);
    const missing = await fetch(`${t.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'not_found' });
  });

  it('leaves no program running once stopped', async () => {
    const pids = pidsStarted(t.logs);
    expect(pids.length).toBeGreaterThan(5);
    await t.runner.stop(5_000);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(await readdir(join(t.dataDir, 'runner/instances'))).toEqual([]);
  });
});

describe('runner: address-space limit', () => {
  let t: TestRunner;
  let prisma: PrismaClient;
  let fn: SeededFunction;

  beforeAll(async () => {
    const programs = await buildFixtures();
    prisma = testPrisma();
    // Resident memory is hardly ever checked and there is no cgroup: only the address-space limit
    // can stop the program.
    t = await startRunner({
      RUNNER_MEMORY_CHECK_INTERVAL_MS: '600000',
      RUNNER_ADDRESS_SPACE_HEADROOM_MB: '96',
      RUNNER_SANDBOX_CGROUPS: 'none',
    });
    fn = await seedFunction(prisma, t.store, { program: programs.faults, memoryMb: 64 });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
    await cleanup(prisma, [fn]);
    await prisma.$disconnect();
  });

  it('reports a failed allocation as the memory limit, and serves the next call', async () => {
    const answer = await invoke(t.url, fn, { action: 'alloc' });
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ error: 'the function exceeded its memory limit of 64 MiB and was stopped', code: 'function_error' });
    await functionLogLine(t.prefix, (l) => /^memory allocation of \d+ bytes failed/.test(l.text));
    expect((await invoke(t.url, fn, { action: 'hello' })).status).toBe(200);
  });
});

describe('runner: RUNNER_SANDBOX=none (trusted code only)', () => {
  let t: TestRunner;
  let prisma: PrismaClient;
  let fn: SeededFunction;

  beforeAll(async () => {
    const programs = await buildFixtures();
    prisma = testPrisma();
    t = await startRunner({ RUNNER_SANDBOX: 'none' });
    fn = await seedFunction(prisma, t.store, { program: programs.faults });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
    await cleanup(prisma, [fn]);
    await prisma.$disconnect();
  });

  it('warns at start, and runs programs as plain processes on ports of their own', async () => {
    expect(t.logs.some((r) => r.level === 40 && /RUNNER_SANDBOX=none/.test(String(r.msg)))).toBe(true);
    const answer = await invoke(t.url, fn, { action: 'env' });
    expect(answer.status).toBe(200);
    expect((answer.body as { names: string[] }).names).toEqual(expect.arrayContaining(['PORT', 'IGNITE_PROBE_PORT']));
    expect((answer.body as { names: string[] }).names).not.toContain('IGNITE_LISTEN_FD');
  });
});

describe('runner: Redis unreachable', () => {
  let t: TestRunner;
  let prisma: PrismaClient;
  let fn: SeededFunction;

  beforeAll(async () => {
    const programs = await buildFixtures();
    prisma = testPrisma();
    t = await startRunner({ REDIS_URL: 'redis://127.0.0.1:1' });
    fn = await seedFunction(prisma, t.store, { program: programs.hello });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
    await cleanup(prisma, [fn]);
    await prisma.$disconnect();
  });

  it('still serves invocations, and says it is not ready', async () => {
    for (let i = 0; i < 3; i++) expect((await invoke(t.url, fn, { message: 'no redis' })).status).toBe(200);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ error: 'not ready: redis unreachable', code: 'unavailable' });
  });
});

describe('runner: internal token', () => {
  let t: TestRunner;

  beforeAll(async () => {
    t = await startRunner({ RUNNER_INTERNAL_TOKEN: 'a-long-shared-secret' });
  });

  afterAll(async () => {
    await t?.stop();
  });

  it('refuses invocations without the token, before looking anything up', async () => {
    const missing = await invoke(t.url, { functionId: 'org/app' }, {});
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ error: 'missing or wrong x-ignite-internal-token', code: 'unauthorized' });
    const wrong = await invoke(t.url, { functionId: 'org/app' }, {}, { headers: { 'x-ignite-internal-token': 'guess' } });
    expect(wrong.status).toBe(401);
    const right = await invoke(t.url, { functionId: 'org/app' }, {}, { headers: { 'x-ignite-internal-token': 'a-long-shared-secret' } });
    expect(right.status).toBe(404);
  });
});
