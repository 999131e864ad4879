import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import pino from 'pino';
import { ArtifactCache } from '../artifacts';
import { InvocationError } from '../errors';
import type { ExitInfo, FlowControl, FunctionInstance, ProxyRequest } from '../instance';
import type { ResolvedFunction } from '../release-resolver';
import { buildComponent } from './testing/build-component';
import { WasmKind } from './wasm-instance';

// Real components built with the wasm toolchain (cached across runs), run in real worker threads.
jest.setTimeout(600_000);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** When each chunk arrived (ms since the exchange started) and its text. */
  chunks: { at: number; text: string }[];
  json: () => Record<string, unknown>;
}

interface LogRecord {
  msg: string;
  [field: string]: unknown;
}

let dataDir: string;
let kind: WasmKind;
let store: FilesystemBlobStore;
const logs: LogRecord[] = [];
let helloSha = '';
let semanticsSha = '';
let syncSha = '';
let executions = 0;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ignite-wasm-'));
  store = new FilesystemBlobStore(join(dataDir, 'blobs'));
  helloSha = (await store.put({ path: buildComponent('rust-hello') })).sha256;
  semanticsSha = (await store.put({ path: buildComponent('handler-semantics') })).sha256;
  syncSha = (await store.put({ path: buildComponent('sync-handler') })).sha256;
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as LogRecord) });
  kind = new WasmKind({
    artifacts: new ArtifactCache(store, join(dataDir, 'runner', 'bin')),
    logger,
    cacheDir: join(dataDir, 'runner', 'wasm'),
    instancesDir: join(dataDir, 'runner', 'instances'),
    startTimeoutMs: 20_000,
    stopGraceMs: 2_000,
    logLinesPerSecond: 1000,
  });
});

afterAll(async () => {
  await kind?.close();
  await rm(dataDir, { recursive: true, force: true });
});

function resolved(sha256: string, overrides: Partial<ResolvedFunction> = {}): ResolvedFunction {
  return {
    functionId: 'acme/fn',
    appId: 'app-1',
    orgId: 'org-1',
    auth: 'key',
    rateLimitPerSecond: null,
    concurrencyLimit: null,
    release: { id: 'release-1', number: 1, target: 'wasm', artifactSha256: sha256 },
    env: { GREETING: 'hello', IGNITE_SECRET: 'platform only' },
    timeoutMs: 5_000,
    memoryMb: 128,
    configKey: 'k',
    generation: 1,
    ...overrides,
  };
}

async function started(sha256: string, overrides: Partial<ResolvedFunction> = {}): Promise<FunctionInstance> {
  const fn = resolved(sha256, overrides);
  const instance = kind.create({ id: `instance-${Math.random().toString(36).slice(2)}`, fn, release: fn.release! });
  await instance.start();
  return instance;
}

function exchange(
  instance: FunctionInstance,
  body: unknown,
  options: { path?: string; headers?: string[]; method?: string; raw?: Buffer; onChunk?: (text: string) => void } = {},
): { answer: Promise<Answer>; abort: (reason: Error) => void; flow: () => FlowControl | null } {
  const executionId = `exec-${++executions}`;
  const request: ProxyRequest = {
    method: options.method ?? 'POST',
    path: options.path ?? '/',
    headers: [...(options.headers ?? []), 'x-ignite-execution-id', executionId, 'x-ignite-function-id', 'acme/fn'],
    body: options.raw ?? (body === undefined ? null : Buffer.from(JSON.stringify(body))),
    executionId,
  };
  let flow: FlowControl | null = null;
  const startedAt = performance.now();
  let abort: (reason: Error) => void = () => {};
  const answer = new Promise<Answer>((resolve, reject) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    const chunks: { at: number; text: string }[] = [];
    const parts: Buffer[] = [];
    const handle = instance.exchange(request, {
      start(s, h, f) {
        status = s;
        headers = h;
        flow = f;
      },
      data(chunk) {
        parts.push(Buffer.from(chunk));
        chunks.push({ at: performance.now() - startedAt, text: chunk.toString() });
        options.onChunk?.(chunk.toString());
        return true;
      },
      end() {
        const body = Buffer.concat(parts);
        resolve({ status, headers, body, chunks, json: () => JSON.parse(body.toString()) as Record<string, unknown> });
      },
      error: reject,
    });
    abort = handle.abort;
  });
  return { answer, abort: (reason) => abort(reason), flow: () => flow };
}

const call = (instance: FunctionInstance, body: unknown, options?: Parameters<typeof exchange>[2]) =>
  exchange(instance, body, options).answer;

function exitOf(instance: FunctionInstance): Promise<ExitInfo> {
  return new Promise((resolve) => instance.onExit(resolve));
}

describe('wasm instances', () => {
  it('runs rust-hello, the same source as native, with the contract JSON', async () => {
    const instance = await started(helloSha);
    const answer = await call(instance, { message: 'hi there' });
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.headers['x-ignite-execution-id']).toBe(`exec-${executions}`);
    expect(answer.json()).toEqual({ message: 'hi there', execution_id: `exec-${executions}`, function_id: 'acme/fn' });
    expect(Number(answer.headers['content-length'])).toBe(answer.body.length);

    const defaults = await call(instance, undefined);
    expect(defaults.json().message).toBe('Hello from Rust!');
    const exit = exitOf(instance);
    instance.stop();
    expect((await exit).cause).toBe('stopped');
  });

  it('keeps one component instance warm across invocations, with the request as the handler sees it', async () => {
    const instance = await started(semanticsSha);
    const first = await call(instance, { action: 'echo', n: 1 }, { path: '/orders/42?name=a%20b&x=1', headers: ['X-Test-Header', 'yes'] });
    expect(first.status).toBe(200);
    expect(first.json()).toMatchObject({
      method: 'POST',
      path: '/orders/42',
      query: 'name=a%20b&x=1',
      name: 'a b',
      header: 'yes',
      body: { action: 'echo', n: 1 },
      function_id: 'acme/fn',
      served: 1,
    });
    const second = await call(instance, { action: 'echo' }, { method: 'PUT' });
    expect(second.json()).toMatchObject({ method: 'PUT', served: 2 });

    const notJson = await call(instance, undefined, { raw: Buffer.from('not json') });
    expect(notJson.status).toBe(400);
    expect(notJson.json().error).toMatch(/request body is not valid JSON/);

    const created = await call(instance, { action: 'response' });
    expect(created.status).toBe(201);
    expect(created.headers['x-custom']).toBe('yes');
    expect(created.json()).toEqual({ created: true });

    const big = await call(instance, { action: 'big', kib: 2048 });
    expect(big.status).toBe(200);
    expect((big.json().data as string).length).toBe(2048 * 1024);
    instance.kill('test over');
  });

  it('answers Err with 500 {error} and keeps serving; a panic with 500 {error} and a fresh component instance', async () => {
    const instance = await started(semanticsSha);
    await call(instance, { action: 'echo' });
    const failed = await call(instance, { action: 'err', message: 'boom' });
    expect(failed.status).toBe(500);
    expect(failed.json()).toEqual({ error: 'boom' });
    expect((await call(instance, { action: 'echo' })).json().served).toBe(3);

    const panicked = await call(instance, { action: 'panic', message: 'kaboom' });
    expect(panicked.status).toBe(500);
    expect(panicked.json()).toEqual({ error: 'kaboom' });
    expect(panicked.headers['x-ignite-execution-id']).toBe(`exec-${executions}`);
    // The trapped instance is never used again: the counter starts over in a fresh one.
    expect((await call(instance, { action: 'echo' })).json().served).toBe(1);
    expect(logs.some((record) => record.msg === 'the component trapped')).toBe(true);
    expect(logs.some((record) => record.msg === 'function log' && String(record.text).includes('panicked: kaboom'))).toBe(true);
    instance.kill('test over');
  });

  it('streams chunks as the handler writes them, then its result (or error) as the last line', async () => {
    const instance = await started(semanticsSha);
    const streamed = await call(instance, { action: 'stream', pause_ms: 300 });
    expect(streamed.status).toBe(200);
    expect(streamed.headers['content-type']).toBe('application/x-ndjson');
    expect(streamed.headers['content-length']).toBeUndefined();
    expect(streamed.body.toString()).toBe('{"chunk":1}\n{"chunk":2}\n{"done":true}\n');
    const first = streamed.chunks.find((chunk) => chunk.text.includes('"chunk":1'))!;
    const second = streamed.chunks.find((chunk) => chunk.text.includes('"chunk":2'))!;
    expect(second.at - first.at).toBeGreaterThanOrEqual(250);

    const failed = await call(instance, { action: 'stream', end: 'err' });
    expect(failed.body.toString()).toBe('{"chunk":1}\n{"chunk":2}\n{"error":"failed after streaming"}\n');
    const panicked = await call(instance, { action: 'stream', end: 'panic' });
    expect(panicked.status).toBe(200);
    expect(panicked.body.toString()).toBe('{"chunk":1}\n{"chunk":2}\n{"error":"panicked after streaming"}\n');
    expect((await call(instance, { action: 'echo' })).status).toBe(200);
    instance.kill('test over');
  });

  it('gives the function its environment (without the platform variables) and a scratch directory', async () => {
    const instance = await started(semanticsSha);
    const env = await call(instance, { action: 'env', name: 'GREETING' });
    expect(env.json().value).toBe('hello');
    expect(env.json().names).toContain('GREETING');
    expect((env.json().names as string[]).filter((name) => name.startsWith('IGNITE_'))).toEqual([]);

    const temp = await call(instance, { action: 'temp' });
    expect(temp.status).toBe(200);
    expect(temp.json()).toMatchObject({ content: 'scratch data', files: ['a.txt'] });
    expect(temp.json().path).toMatch(/^\/tmp\/ignite-[0-9a-f]+\/\d+\/a\.txt$/);
    expect(temp.json().bad_name).toMatch(/invalid file name/);
    // The invocation's directory is gone once it has answered; the guest's root stays, empty.
    const scratch = join(dataDir, 'runner', 'instances');
    const roots: string[] = [];
    for (const guestDir of await readdir(scratch)) {
      for (const root of await readdir(join(scratch, guestDir)).catch(() => [])) roots.push(join(scratch, guestDir, root));
    }
    expect(roots).toHaveLength(1);
    expect(await readdir(roots[0]!)).toEqual([]);
    instance.kill('test over');
  });

  it('runs a synchronous handler (from a src/main.rs): blocking, streaming, failing and panicking', async () => {
    const instance = await started(syncSha);
    const slept = await call(instance, { action: 'sleep', ms: 50 });
    expect(slept.json()).toEqual({ slept: 50 });
    const streamed = await call(instance, { action: 'stream' });
    expect(streamed.headers['content-type']).toBe('application/x-ndjson');
    expect(streamed.body.toString()).toBe('{"chunk":1}\n{"chunk":2}\n{"done":true}\n');
    expect((await call(instance, { action: 'err' })).json()).toEqual({ error: 'sync failure' });
    const panicked = await call(instance, { action: 'panic' });
    expect({ status: panicked.status, body: panicked.json() }).toEqual({ status: 500, body: { error: 'sync panic' } });
    expect((await call(instance, { action: 'sleep', ms: 1 })).status).toBe(200);
    // The documented difference: on the component's only thread, `Handle::current().block_on`
    // cannot drive tokio's timers (a current-thread runtime limitation), so it panics.
    const blockOn = await call(instance, { action: 'check' });
    expect({ status: blockOn.status, body: blockOn.json() }).toEqual({ status: 500, body: { error: 'condvar wait not supported' } });
    instance.kill('test over');
  });

  it('runs the guest off the main thread: a guest that never yields is abandoned and replaced', async () => {
    const instance = await started(semanticsSha);
    const spinning = exchange(instance, { action: 'spin' });
    const outcome = spinning.answer.then(
      () => 'answered',
      () => 'failed',
    );
    // The runner's event loop keeps turning while the guest spins.
    const ticks = await new Promise<number>((resolve) => {
      let count = 0;
      const timer = setInterval(() => {
        if (++count === 10) {
          clearInterval(timer);
          resolve(count);
        }
      }, 20);
    });
    expect(ticks).toBe(10);
    spinning.abort(new Error('the invocation ran past its time limit'));
    const next = await call(instance, { action: 'echo' });
    expect(next.status).toBe(200);
    expect(next.json().served).toBe(1);
    expect(await Promise.race([outcome, new Promise((resolve) => setTimeout(() => resolve('silent'), 200))])).toBe('silent');
    const exit = exitOf(instance);
    instance.kill('an invocation ran past its time limit');
    expect(await exit).toMatchObject({ cause: 'killed', reason: 'an invocation ran past its time limit' });
  });

  it('stops a guest at its memory limit with a JSON error, and serves the next invocation', async () => {
    const instance = await started(semanticsSha, { memoryMb: 48 });
    const grown = await call(instance, { action: 'grow' });
    expect(grown.status).toBe(500);
    expect(grown.json()).toEqual({ error: 'the function exceeded its memory limit of 48 MiB and was stopped', code: 'function_error' });
    expect((await call(instance, { action: 'echo' })).status).toBe(200);
    instance.kill('test over');
  });

  it('refuses to start a component whose memory at start is over the limit, and a release that is not a component', async () => {
    const fn = resolved(semanticsSha, { memoryMb: 1 });
    const tooSmall = kind.create({ id: 'tiny', fn, release: fn.release! });
    await expect(tooSmall.start()).rejects.toThrow(/needs \d+ MiB of memory at start, more than its limit of 1 MiB/);

    const notComponent = await store.put(Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const bad = resolved(notComponent.sha256);
    const instance = kind.create({ id: 'bad', fn: bad, release: bad.release! });
    const failure = await instance.start().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InvocationError);
    expect((failure as InvocationError).message).toMatch(/could not be transpiled as a component/);
  });

  it('pauses the guest while the caller is slow and resumes it', async () => {
    const instance = await started(semanticsSha);
    let pausedAt = 0;
    let flowControl: FlowControl | null = null;
    const streaming = exchange(
      instance,
      { action: 'stream', pause_ms: 100 },
      {
        onChunk: (text) => {
          if (text.includes('"chunk":1') && flowControl !== null) {
            flowControl.pause();
            pausedAt = performance.now();
            setTimeout(() => flowControl?.resume(), 300);
          }
        },
      },
    );
    flowControl = { pause: () => streaming.flow()?.pause(), resume: () => streaming.flow()?.resume() };
    const answer = await streaming.answer;
    expect(answer.body.toString()).toBe('{"chunk":1}\n{"chunk":2}\n{"done":true}\n');
    expect(performance.now() - pausedAt).toBeGreaterThanOrEqual(250);
    instance.kill('test over');
  });

  it('starts a prepared release from its standby instance, and refuses a function that is not ready', async () => {
    const fn = resolved(helloSha, { functionId: 'acme/prepared', env: { STAGE: 'prepared' } });
    await kind.prepare(fn);
    const instance = kind.create({ id: 'prepared', fn, release: fn.release! });
    const startedAt = performance.now();
    await instance.start();
    const answer = await call(instance, { message: 'first' });
    const coldMs = performance.now() - startedAt;
    expect(answer.json().message).toBe('first');
    expect(logs.filter((record) => record.msg === 'instance ready' && record.instance === 'prepared')[0]).toMatchObject({ standby: true });
    // Generous: the figure that matters is measured by bench/wasm.
    expect(coldMs).toBeLessThan(100);
    instance.kill('test over');

    const broken = resolved(semanticsSha, { env: { IGNITE_MAX_BODY_BYTES: 'lots' } });
    const notReady = kind.create({ id: 'not-ready', fn: broken, release: broken.release! });
    await expect(notReady.start()).rejects.toThrow(/not ready: IGNITE_MAX_BODY_BYTES must be a number of bytes, got "lots"/);
  });

  it('transpiles a component once per artifact and reuses it from disk', async () => {
    expect(logs.filter((record) => record.msg === 'component transpiled' && record.sha256 === semanticsSha)).toHaveLength(1);
    const ready = logs.filter((record) => record.msg === 'instance ready');
    expect(ready.length).toBeGreaterThan(3);
  });
});
