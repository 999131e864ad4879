import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { channels } from '@ignite/contracts';
import type { PrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import { buildComponent, repoRoot, testRedisUrl, waitFor } from '@ignite/testing';
import { SLOT_FILE } from '../direct/instance-connections';
import { buildFixtures } from '../testing/fixtures';
import {
  addRelease,
  cleanup,
  functionLogLine,
  invoke,
  isAlive,
  reportsOf,
  type SeededFunction,
  seedFunction,
  startRunner,
  type TestRunner,
  testPrisma,
} from '../testing/harness';

// Real components (built with the wasm toolchain, cached across runs) served by the real wasm host
// (apps/runner/dist/ignite-wasm-host), each host in a real sandbox, through the whole runner.
jest.setTimeout(600_000);

const HOST = join(repoRoot, 'apps', 'runner', 'dist', 'ignite-wasm-host');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('runner: wasm releases served by the wasm host', () => {
  let prisma: PrismaClient;
  let t: TestRunner;
  const seeded: SeededFunction[] = [];
  let components: { hello: string; semantics: string };
  let hostKey: string;
  let hello: SeededFunction;
  let semantics: SeededFunction;
  let spinner: SeededFunction;

  const seed = async (options: Parameters<typeof seedFunction>[2]) => {
    const fn = await seedFunction(prisma, t.store, { target: 'wasm', ...options });
    seeded.push(fn);
    return fn;
  };
  /** The pids of the hosts started for a function, in order. */
  const hostPids = (fn: SeededFunction) =>
    t.logs.filter((record) => record.msg === 'instance ready' && record.functionId === fn.functionId).map((record) => record.pid as number);
  beforeAll(async () => {
    components = { hello: buildComponent('rust-hello'), semantics: buildComponent('handler-semantics') };
    hostKey = execFileSync(HOST, ['cache-key'], { encoding: 'utf8' }).trim();
    prisma = testPrisma();
    t = await startRunner();
    hello = await seed({ program: components.hello, app: 'hello' });
    semantics = await seed({ program: components.semantics, env: { GREETING: 'hi', IGNITE_HOST_MAX_INSTANCES: '100000' } });
    spinner = await seed({ program: components.semantics, timeoutMs: 1000, memoryMb: 48 });
  }, 900_000);

  afterAll(async () => {
    await t?.stop();
    if (prisma) {
      await cleanup(prisma, seeded);
      await prisma.$disconnect();
    }
  });

  it('answers 200 with the contract JSON from a host in a sandbox, a fresh component instance per request', async () => {
    const first = await invoke(t.url, hello, { message: 'hi there' });
    expect(first.status).toBe(200);
    const executionId = first.headers.get('x-ignite-execution-id');
    expect(executionId).toMatch(UUID_V7);
    expect(first.body).toEqual({ message: 'hi there', execution_id: executionId, function_id: hello.functionId });
    expect(first.headers.get('x-ignite-cold')).toBe('true');
    expect(first.headers.get('x-ignite-release')).toBe('1');
    const [pid] = hostPids(hello);
    expect(isAlive(pid!)).toBe(true);
    // The sandboxed host runs as its own user, not the runner's.
    expect(execFileSync('ps', ['-o', 'uid=', '-p', String(pid)], { encoding: 'utf8' }).trim()).not.toBe(String(process.getuid?.()));

    // Statics do not outlive a request: the handler's counter is 1 every time, in one host.
    // (Fewer at once than an instance's in-flight cap, 16: more would start a second host.)
    const served = await Promise.all(Array.from({ length: 12 }, () => invoke(t.url, semantics, { action: 'echo' })));
    expect(served.map((answer) => [answer.status, (answer.body as { served: number }).served])).toEqual(
      Array.from({ length: 12 }, () => [200, 1]),
    );
    expect(hostPids(semantics)).toHaveLength(1);
  });

  it('puts the guest’s lines in the function’s log with their execution ids, and reports the invocations', async () => {
    const answers = await Promise.all([1, 2, 3].map(() => invoke(t.url, semantics, { action: 'echo' })));
    const ids = answers.map((answer) => answer.headers.get('x-ignite-execution-id'));
    for (const id of ids) {
      const line = await functionLogLine(t.prefix, (l) => l.executionId === id);
      expect(line).toMatchObject({
        stream: 'stderr',
        appId: semantics.appId,
        releaseId: semantics.releaseId,
        text: `action echo in ${id}`,
      });
    }
    // The host's own lines are the runner's, not a function's.
    expect(t.logs).toContainEqual(
      expect.objectContaining({ msg: 'wasm host', text: expect.stringMatching(/^serving .* \(engine wasmtime-/) }),
    );
    const reports = await reportsOf(t.prefix, ids);
    for (const id of ids) expect(reports.get(id!)).toMatchObject({ appId: semantics.appId, statusCode: 200, error: null });
  });

  it('answers Err and a panic with 500 {"error"}, then serves the next request', async () => {
    const failed = await invoke(t.url, semantics, { action: 'err', message: 'order not paid' });
    expect({ status: failed.status, body: failed.body }).toEqual({ status: 500, body: { error: 'order not paid' } });
    const panicked = await invoke(t.url, semantics, { action: 'panic', message: 'kaboom' });
    expect({ status: panicked.status, body: panicked.body }).toEqual({ status: 500, body: { error: 'kaboom' } });
    const id = panicked.headers.get('x-ignite-execution-id');
    // The panic's message and where it happened, in the log of the invocation that panicked.
    await functionLogLine(t.prefix, (l) => l.executionId === id && /panicked at .*: *$|kaboom/.test(l.text));
    const next = await invoke(t.url, semantics, { action: 'echo' });
    expect({ status: next.status, served: (next.body as { served: number }).served }).toEqual({ status: 200, served: 1 });
    expect(hostPids(semantics)).toHaveLength(1);
  });

  it('gives the guest its app env (never the host’s settings) and a scratch store removed after each request', async () => {
    const env = await invoke(t.url, semantics, { action: 'env', name: 'GREETING' });
    expect(env.status).toBe(200);
    expect((env.body as { value: string }).value).toBe('hi');
    const names = (env.body as { names: string[] }).names;
    expect(names).toContain('GREETING');
    expect(names.filter((name) => name.startsWith('IGNITE_') || /^(DATABASE_URL|REDIS_URL|RUNNER_)/.test(name))).toEqual([]);
    const temp = await invoke(t.url, semantics, { action: 'temp' });
    expect(temp.body).toMatchObject({ content: 'scratch data', files: ['a.txt'], bad_name: expect.stringContaining('escape') });
  });

  it('streams the chunks as the handler writes them', async () => {
    const answer = await invoke(t.url, semantics, { action: 'stream' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/x-ndjson');
    expect(answer.text).toBe('{"chunk":1}\n{"chunk":2}\n{"done":true}\n');
  });

  it('answers 504 at the limit while the same host answers other requests and another host answers too; the host lives on', async () => {
    const started = performance.now();
    const spinning = invoke(t.url, spinner, { action: 'spin' });
    const sleeping = invoke(t.url, spinner, { action: 'sleep', ms: 60_000 });
    // One host per release: a second request to the spinning function is served beside the
    // spinning one, in the same host, and another wasm function's own host answers.
    await waitFor(() => (hostPids(spinner).length === 1 ? true : undefined));
    const meanwhile = await Promise.all([invoke(t.url, spinner, { action: 'echo' }), invoke(t.url, semantics, { action: 'echo' })]);
    expect(meanwhile.map((answer) => answer.status)).toEqual([200, 200]);
    expect(performance.now() - started).toBeLessThan(1000);
    const timeout = { error: 'the function did not finish within its time limit of 1000 ms', code: 'function_timeout' };
    for (const answer of await Promise.all([spinning, sleeping]))
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 504, body: timeout });
    expect((await invoke(t.url, spinner, { action: 'echo' })).status).toBe(200);
    // The host answered the 504s itself: it was not killed (one host, still alive).
    expect(hostPids(spinner)).toHaveLength(1);
    expect(isAlive(hostPids(spinner)[0]!)).toBe(true);
    expect(t.logs.filter((record) => record.msg === 'instance exited' && record.functionId === spinner.functionId)).toEqual([]);
  });

  it('stops a guest at its memory limit with the memory JSON and serves the next request', async () => {
    const grown = await invoke(t.url, spinner, { action: 'grow' });
    expect({ status: grown.status, body: grown.body }).toEqual({
      status: 500,
      body: { error: 'the function exceeded its memory limit of 48 MiB and was stopped', code: 'function_error' },
    });
    expect((await invoke(t.url, spinner, { action: 'echo' })).status).toBe(200);
    expect(hostPids(spinner)).toHaveLength(1);
  });

  it('starts a new host when the host process dies, failing only what was in flight', async () => {
    const [pid] = hostPids(hello);
    const exited = waitFor(() =>
      t.logs.some((record) => record.msg === 'instance exited' && record.functionId === hello.functionId) ? true : undefined,
    );
    process.kill(pid!, 'SIGKILL');
    await exited;
    const next = await invoke(t.url, hello, { message: 'again' });
    expect({ status: next.status, message: (next.body as { message: string }).message }).toEqual({ status: 200, message: 'again' });
    expect(next.headers.get('x-ignite-cold')).toBe('true');
    const pids = hostPids(hello);
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(pid);
  });

  it('hands a wasm function’s connection on the direct port to its host (src/direct/wasm-direct.spec.ts has the rest)', async () => {
    const handoffs = async () =>
      Number(/^ignite_runner_direct_handoffs_total (\d+)/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1]);
    const before = await handoffs();
    const answer = await invoke(t.directUrl, hello, { message: 'direct' });
    expect({ status: answer.status, body: answer.body }).toMatchObject({ status: 200, body: { message: 'direct' } });
    expect(answer.headers.get('x-ignite-execution-id')).toMatch(UUID_V7);
    expect((await handoffs()) - before).toBe(1);
  });

  it('loads the compile worker’s precompiled file when it matches its record, and never a tampered one', async () => {
    // What the compile worker stores for this host's key: the file as a blob, its sha256 in the row.
    // (Wasmtime leaves custom sections out: the variants below all compile to the same file.)
    const cwasm = join(t.dataDir, 'semantics.cwasm');
    execFileSync(HOST, ['precompile', components.semantics, cwasm]);
    const stored = await t.store.put({ path: cwasm });
    // A component of its own (a custom section appended: another sha256, the same code), so that
    // this runner has not prepared it yet.
    const variant = async (name: string) => {
      const tag = `${name}-${randomUUID()}`;
      const bytes = Buffer.concat([await readFile(components.hello), Buffer.from([0x00, tag.length + 1, tag.length]), Buffer.from(tag)]);
      const path = join(t.dataDir, `${name}.wasm`);
      await writeFile(path, bytes);
      return path;
    };

    const trusted = await variant('trusted');
    const trustedSha = (await t.store.put({ path: trusted })).sha256;
    const trustedCwasm = join(t.dataDir, 'trusted.cwasm');
    execFileSync(HOST, ['precompile', trusted, trustedCwasm]);
    const trustedBlob = await t.store.put({ path: trustedCwasm });
    await prisma.precompiledComponent.create({
      data: { componentSha256: trustedSha, cacheKey: hostKey, sha256: trustedBlob.sha256, size: trustedBlob.size },
    });
    const usesStored = await seed({ program: trusted });
    expect((await invoke(t.url, usesStored, { message: 'stored' })).status).toBe(200);
    expect(t.logs.filter((record) => record.msg === 'component precompiled' && record.componentSha256 === trustedSha)).toEqual([]);

    // The row names a file whose bytes changed in the store (one this runner never verified): not
    // loaded, the component is compiled here.
    const tampered = await variant('tampered');
    const tamperedSha = (await t.store.put({ path: tampered })).sha256;
    await prisma.precompiledComponent.create({
      data: { componentSha256: tamperedSha, cacheKey: hostKey, sha256: stored.sha256, size: stored.size },
    });
    const blob = t.store.pathOf(stored.sha256);
    await chmod(blob, 0o644);
    const bytes = await readFile(blob);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 100) ^ 0xff, bytes.length - 100);
    await writeFile(blob, bytes);
    const usesTampered = await seed({ program: tampered });
    const answer = await invoke(t.url, usesTampered, { message: 'not tampered' });
    expect({ status: answer.status, message: (answer.body as { message: string }).message }).toEqual({
      status: 200,
      message: 'not tampered',
    });
    expect(t.logs).toContainEqual(
      expect.objectContaining({
        msg: 'the stored precompiled component does not match its record: compiling the component here',
        componentSha256: tamperedSha,
      }),
    );
    expect(t.logs).toContainEqual(
      expect.objectContaining({ msg: 'component precompiled', componentSha256: tamperedSha, cacheKey: hostKey }),
    );

    // A record for another engine (an older host) is not this host's: compiled here too.
    const stale = await variant('stale');
    const staleSha = (await t.store.put({ path: stale })).sha256;
    await prisma.precompiledComponent.create({
      data: { componentSha256: staleSha, cacheKey: 'wasmtime-47.0.0-0000000000000000', sha256: trustedBlob.sha256, size: trustedBlob.size },
    });
    const usesStale = await seed({ program: stale });
    expect((await invoke(t.url, usesStale, { message: 'stale' })).status).toBe(200);
    expect(t.logs).toContainEqual(
      expect.objectContaining({ msg: 'no precompiled component for this host: compiling it here', componentSha256: staleSha }),
    );
    await prisma.precompiledComponent.deleteMany({ where: { componentSha256: { in: [trustedSha, tamperedSha, staleSha] } } });
  });

  it('prepares a release announced as published and starts its host before its first invocation', async () => {
    const fn = await seed({});
    const redis = createRedis(testRedisUrl());
    try {
      const releaseId = await addRelease(prisma, t.store, fn.appId, components.hello, 'wasm');
      await redis.publish(
        channels.releases(t.prefix),
        JSON.stringify({ appId: fn.appId, functionId: fn.functionId, releaseId, number: 1 }),
      );
      await waitFor(() => (hostPids(fn).length === 1 ? true : undefined));
      const answer = await invoke(t.url, fn, { message: 'warm already' });
      expect(answer.status).toBe(200);
      // The lease is the instance's first, but the host had started before the invocation came.
      expect(hostPids(fn)).toHaveLength(1);
    } finally {
      redis.disconnect();
    }
  });

  it('refuses a wasm release whose artifact is not a component, with the host’s words', async () => {
    const notComponent = await seed({ program: (await buildFixtures()).hello });
    const answer = await invoke(t.url, notComponent, {});
    expect({ status: answer.status, body: answer.body }).toEqual({
      status: 500,
      body: {
        error: expect.stringContaining("the release's component could not be compiled for this runner's wasm host"),
        code: 'internal',
      },
    });
  });
});

describe('runner: wasm releases with RUNNER_SANDBOX=none', () => {
  let prisma: PrismaClient;
  let t: TestRunner;
  const seeded: SeededFunction[] = [];

  beforeAll(async () => {
    prisma = testPrisma();
    t = await startRunner({ RUNNER_SANDBOX: 'none' });
  });

  afterAll(async () => {
    await t?.stop();
    if (prisma) {
      await cleanup(prisma, seeded);
      await prisma.$disconnect();
    }
  });

  it('runs the host as a plain process on a port of its own, with the same answers', async () => {
    const fn = await seedFunction(prisma, t.store, {
      program: buildComponent('handler-semantics'),
      target: 'wasm',
      env: { GREETING: 'plain' },
      timeoutMs: 1000,
    });
    seeded.push(fn);
    const echo = await invoke(t.url, fn, { action: 'env', name: 'GREETING' });
    expect({ status: echo.status, value: (echo.body as { value: string }).value }).toEqual({ status: 200, value: 'plain' });
    const ready = t.logs.find((record) => record.msg === 'instance ready' && record.functionId === fn.functionId);
    expect(ready).toMatchObject({ port: expect.any(Number) });
    expect(execFileSync('ps', ['-o', 'uid=', '-p', String(ready!.pid)], { encoding: 'utf8' }).trim()).toBe(String(process.getuid?.()));
    const spun = await invoke(t.url, fn, { action: 'spin' });
    expect(spun.status).toBe(504);
    const temp = await invoke(t.url, fn, { action: 'temp' });
    expect(temp.body).toMatchObject({ content: 'scratch data', files: ['a.txt'] });
    // Each execution's directory goes once it has answered: the host's scratch base (the
    // instance's directory) empties, but for the runner's slot file of direct connections (no
    // guest sees it: each sees only its own execution's directory).
    const base = join(t.dataDir, 'runner', 'instances', String(ready!.instance));
    await waitFor(async () => ((await readdir(base)).filter((name) => name !== SLOT_FILE).length === 0 ? true : undefined));
  });
});
