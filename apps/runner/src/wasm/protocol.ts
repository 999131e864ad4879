/**
 * The messages between the runner's main thread (`wasm-instance.ts`) and a guest worker
 * (`guest-worker.cts`), and the interface of the WASI host (`wasi-host.cts`). Types only: the
 * worker files are CommonJS TypeScript that Node runs as is, and they import nothing of ours at
 * run time.
 */

/**
 * The parts of the WebAssembly JS API the runner uses, typed here: the project's TypeScript
 * libraries (ES2023, no DOM) do not declare `WebAssembly`. Get it with
 * `(globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly`.
 */
export interface WasmModule {
  readonly __wasmModule?: never;
}
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
export type WasmImports = Record<string, Record<string, unknown>>;
export interface WasmApi {
  Instance: new (module: WasmModule, imports?: WasmImports) => WasmInstance;
  Memory: abstract new (...args: never[]) => WasmMemory;
  RuntimeError: abstract new (...args: never[]) => Error;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}

/**
 * Slots of the shared control array (an `Int32Array` over a `SharedArrayBuffer`); the worker
 * files repeat these numbers (they import nothing at run time).
 * - `CONTROL_PAUSED`: 1 while the caller is slow: the response body's stream takes no bytes;
 * - `CONTROL_WAKE`: bumped (and notified) to wake a worker blocked in a wait.
 */
export const CONTROL_PAUSED = 0;
export const CONTROL_WAKE = 1;
export const CONTROL_SLOTS = 2;

/** A header as it crosses the thread boundary: name and value (latin1/UTF-8 text). */
export type Header = [name: string, value: string];

export interface LoadMessage {
  kind: 'load';
  /** The jco-transpiled JS of the component (ESM), `file://` URL. */
  glueUrl: string;
  /** Core modules by the file name the glue asks for, compiled (and memory-limited) already. */
  modules: Record<string, WasmModule>;
  /** The function's environment (`wasi:cli/environment`). */
  env: [string, string][];
  /** The scratch directory: `hostPath` is visible to the guest as `guestPath`. */
  preopen: { hostPath: string; guestPath: string } | null;
  control: SharedArrayBuffer;
  /** Largest linear memory, for telling an out-of-memory trap from others. */
  memoryLimitBytes: number;
}

export interface InvokeMessage {
  kind: 'invoke';
  seq: number;
  method: string;
  /** Path and query, e.g. `/orders/42?x=1`. */
  pathWithQuery: string;
  headers: Header[];
  body: Uint8Array | null;
}

export type ToWorker = LoadMessage | InvokeMessage;

/** What happened during an invocation, in order. */
export type GuestEvent =
  | { type: 'head'; status: number; headers: Header[] }
  | { type: 'chunk'; data: Uint8Array }
  | { type: 'end' }
  | { type: 'log'; stream: 'stdout' | 'stderr'; data: Uint8Array };

/** Why an invocation ended the component instance. */
export interface TrapInfo {
  message: string;
  /** It ran out of linear memory (an allocation failed at the limit). */
  memory: boolean;
  /** Set when the guest called `wasi:cli/exit`. */
  exitCode: number | null;
}

export type FromWorker =
  | { kind: 'loaded'; importMs: number; instantiateMs: number; probeMs: number }
  | { kind: 'load-failed'; message: string }
  /** Events of invocation `seq` (0: logs written at instantiation), while it runs. */
  | { kind: 'events'; seq: number; events: GuestEvent[] }
  /**
   * Invocation `seq` is over: its last events, and the trap that ended it if it did (a panic,
   * `unreachable`, out of memory, `exit`): then the instance is dead and serves nothing more.
   */
  | { kind: 'finished'; seq: number; events: GuestEvent[]; trap?: TrapInfo };

/** One request, as the host hands it to the component's `incoming-handler`. */
export interface HostRequest {
  method: string;
  pathWithQuery: string;
  headers: Header[];
  body: Uint8Array | null;
}

export interface HostOptions {
  env: [string, string][];
  preopen: { hostPath: string; guestPath: string } | null;
  control: Int32Array;
  /** Receives the invocation's events, in order. */
  emit(event: GuestEvent): void;
  /** Sends the queued events now: a streamed chunk must reach the caller, or the guest is about to block. */
  flush(): void;
}

/** A `wasi:http/incoming-handler` request in flight. */
export interface HostExchange {
  /** The `incoming-request` resource to pass to `handle`. */
  request: unknown;
  /** The `response-outparam` resource to pass to `handle`. */
  responseOut: unknown;
}

export interface WasiHost {
  /** The import object for a jco-transpiled component (`instantiation: 'sync'`). */
  imports: Record<string, Record<string, unknown>>;
  /** Interfaces this host provides (`wasi:io/streams`, …), without versions. */
  interfaces: readonly string[];
  exchange(request: HostRequest): HostExchange;
  /** Thrown by `wasi:cli/exit`: the guest asked to exit. */
  isExit(error: unknown): number | null;
}

export interface HostModule {
  createHost(options: HostOptions): WasiHost;
  /** The interfaces `createHost` provides, for checking a component's imports before it runs. */
  SUPPORTED_INTERFACES: readonly string[];
}

/** `transpile-worker.cts`'s input (`workerData`). */
export interface TranspileRequest {
  componentPath: string;
  outDir: string;
}

export type TranspileReply = { ok: true; imports: string[]; exports: string[]; coreModules: string[] } | { ok: false; message: string };
