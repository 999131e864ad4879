/**
 * A worker thread that runs one instance of a function component: it loads the component's
 * jco-transpiled JS with the core modules the main thread compiled, instantiates it once against
 * the WASI host (`wasi-host.cts`), then serves invocations one at a time by calling its
 * `wasi:http/incoming-handler`. What the guest answers and logs goes back as batched `events`
 * messages; a trap (a panic, `unreachable`, running out of memory) or `exit` is reported and the
 * worker serves nothing more: the main thread terminates it.
 *
 * The guest runs synchronously on this thread, so the runner's event loop never waits for it: a
 * guest that hangs is stopped by terminating the worker.
 *
 * CommonJS TypeScript with erasable syntax only: Node runs it as is under the tests, `tsc`
 * compiles it to `guest-worker.cjs` for the built runner.
 */
import type { FromWorker, GuestEvent, HostModule, InvokeMessage, LoadMessage, ToWorker, TrapInfo, WasiHost, WasmApi, WasmImports, WasmInstance, WasmMemory, WasmModule } from './protocol';

const { parentPort } = require('node:worker_threads') as typeof import('node:worker_threads');
const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
const { existsSync } = require('node:fs') as typeof import('node:fs');
const { join } = require('node:path') as typeof import('node:path');

const compiledHost = join(__dirname, 'wasi-host.cjs');
const hostModule = require(existsSync(compiledHost) ? compiledHost : join(__dirname, 'wasi-host.cts')) as HostModule;

/** Events are sent at least this often (in bytes of body and logs queued). */
const FLUSH_BYTES = 1024 * 1024;
/** Rust's message when an allocation fails: the linear memory hit its maximum. */
const ALLOCATION_FAILED = 'memory allocation of ';

interface IncomingHandler {
  handle(request: unknown, responseOut: unknown): void;
}

interface TranspiledComponent {
  instantiate(
    getCoreModule: (name: string) => WasmModule,
    imports: Record<string, Record<string, unknown>>,
    instantiateCore?: (module: WasmModule, imports: WasmImports) => WasmInstance,
  ): { incomingHandler?: IncomingHandler };
}

const port = parentPort;
if (port === null) throw new Error('guest-worker runs in a worker thread');

// The guest gets its environment from the host, never from this thread's `process.env`. jco's
// glue reads `process.env.JCO_DEBUG` on every call it makes; `process.env` is an exotic object
// whose reads are slow, a plain empty object is not (warm invocations take 2.5 times less time).
Object.defineProperty(process, 'env', { value: {}, configurable: true, writable: false });

let host: WasiHost | null = null;
let handler: IncomingHandler | null = null;
const memories: WasmMemory[] = [];
let memoryLimitBytes = 0;
let dead: string | null = null;

let seq = 0;
let queue: GuestEvent[] = [];
let transfer: ArrayBuffer[] = [];
let queuedBytes = 0;
let allocationFailed = false;

function post(message: FromWorker, list: ArrayBuffer[] = []): void {
  port!.postMessage(message, list);
}

/** How often the readiness probe runs at load. */
const PROBE_ROUNDS = 3;
const PROBE_BODY = new TextEncoder().encode('{"probe":true}');

/** While the readiness probe runs: its answer, kept here. */
let probe: GuestEvent[] | null = null;

function emit(event: GuestEvent): void {
  if (probe !== null && event.type !== 'log') {
    probe.push(event);
    return;
  }
  if (event.type === 'chunk' || event.type === 'log') {
    const data = event.data;
    queuedBytes += data.byteLength;
    // A buffer of its own (what jco copies out of linear memory) moves to the main thread.
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer && !transfer.includes(data.buffer)) {
      transfer.push(data.buffer);
    }
    if (event.type === 'log' && event.stream === 'stderr' && !allocationFailed && data.byteLength < 4096) {
      allocationFailed = Buffer.from(data.buffer, data.byteOffset, data.byteLength).includes(ALLOCATION_FAILED);
    }
  }
  queue.push(event);
  if (queuedBytes >= FLUSH_BYTES) flush();
}

function flush(): void {
  if (queue.length === 0) return;
  const events = queue;
  const list = transfer;
  queue = [];
  transfer = [];
  queuedBytes = 0;
  post({ kind: 'events', seq, events }, list);
}

/** The invocation is over: what is still queued and how it ended go out in one message. */
function finish(end: { trap?: TrapInfo }): void {
  const events = queue;
  const list = transfer;
  queue = [];
  transfer = [];
  queuedBytes = 0;
  post({ kind: 'finished', seq, events, ...end }, list);
}

async function load(message: LoadMessage): Promise<void> {
  memoryLimitBytes = message.memoryLimitBytes;
  host = hostModule.createHost({
    env: message.env,
    preopen: message.preopen,
    control: new Int32Array(message.control),
    emit,
    flush,
  });
  const importStarted = performance.now();
  const component = (await import(message.glueUrl)) as TranspiledComponent;
  const instantiateStarted = performance.now();
  const exports = component.instantiate(
    (name) => {
      const module = message.modules[name];
      if (module === undefined) throw new Error(`the component has no core module ${name}`);
      return module;
    },
    host.imports,
    (module, imports) => {
      const instance = new WebAssemblyApi.Instance(module, imports);
      for (const value of Object.values(instance.exports)) {
        if (value instanceof WebAssemblyApi.Memory) memories.push(value as WasmMemory);
      }
      return instance;
    },
  );
  handler = exports.incomingHandler ?? null;
  if (handler === null || typeof handler.handle !== 'function') {
    throw new Error('the component does not export wasi:http/incoming-handler');
  }
  const probeStarted = performance.now();
  readinessProbe(handler, host);
  flush();
  post({
    kind: 'loaded',
    importMs: instantiateStarted - importStarted,
    instantiateMs: probeStarted - instantiateStarted,
    probeMs: performance.now() - probeStarted,
  });
}

/**
 * The SDK's readiness probe (`x-ignite-probe`): the function sets itself up (settings,
 * environment snapshot, runtime) and answers without calling the handler. It also runs the
 * host's and the glue's request path once, so that the first real invocation finds it compiled.
 */
function readinessProbe(target: IncomingHandler, wasi: WasiHost): void {
  let answer: GuestEvent[] = [];
  // Like an invocation (headers, a JSON body), a few times: the JS of the glue and of the host
  // is compiled and warmed up here rather than in the first invocation.
  for (let round = 0; round < PROBE_ROUNDS; round++) {
    answer = [];
    probe = answer;
    try {
      const exchange = wasi.exchange({
        method: 'POST',
        pathWithQuery: '/',
        headers: [
          ['x-ignite-probe', 'ready'],
          ['content-type', 'application/json'],
          ['x-ignite-execution-id', 'readiness-probe'],
        ],
        body: PROBE_BODY,
      });
      target.handle(exchange.request, exchange.responseOut);
    } catch (error) {
      dead = describeTrap(error);
      throw new Error(`the component trapped in its readiness probe: ${dead}`);
    } finally {
      probe = null;
    }
  }
  const head = answer.find((event) => event.type === 'head');
  const body = Buffer.concat(answer.flatMap((event) => (event.type === 'chunk' ? [event.data] : []))).toString('utf8');
  if (head === undefined || head.status !== 200) {
    let detail = body || `HTTP ${head?.status ?? 'no answer'}`;
    try {
      detail = (JSON.parse(body) as { error?: string }).error ?? detail;
    } catch {
      // not JSON: the text itself
    }
    throw new Error(`the function is not ready: ${detail.slice(0, 500)}`);
  }
}

function nearMemoryLimit(): boolean {
  if (memoryLimitBytes <= 0) return false;
  // Within 8 MiB of the maximum: the next large allocation could not grow the memory.
  return memories.some((memory) => memory.buffer.byteLength + 8 * 1024 * 1024 > memoryLimitBytes);
}

function invoke(message: InvokeMessage): void {
  seq = message.seq;
  allocationFailed = false;
  if (dead !== null || host === null || handler === null) {
    finish({ trap: { message: dead ?? 'the component is not loaded', memory: false, exitCode: null } });
    return;
  }
  const exchange = host.exchange({
    method: message.method,
    pathWithQuery: message.pathWithQuery,
    headers: message.headers,
    body: message.body,
  });
  try {
    handler.handle(exchange.request, exchange.responseOut);
  } catch (error) {
    const exitCode = host.isExit(error);
    const memory = allocationFailed || (exitCode === null && error instanceof WebAssemblyApi.RuntimeError && nearMemoryLimit());
    const text = exitCode !== null ? `the function called exit(${exitCode})` : describeTrap(error);
    dead = text;
    finish({ trap: { message: text, memory, exitCode } });
    return;
  }
  finish({});
}

function describeTrap(error: unknown): string {
  if (error instanceof WebAssemblyApi.RuntimeError) return `wasm trap: ${error.message.replace(/^wasm trap: /, '')}`;
  if (error instanceof RangeError && /call stack/i.test(error.message)) return 'wasm trap: call stack exhausted';
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

port.on('message', (message: ToWorker) => {
  if (message.kind === 'load') {
    load(message).catch((error: unknown) => {
      flush();
      post({ kind: 'load-failed', message: error instanceof Error ? error.message : String(error) });
    });
  } else {
    invoke(message);
  }
});
