import { Worker } from 'node:worker_threads';
import { ErrorCode } from '@ignite/contracts';
import { InvocationError } from '../errors';
import { workerScript } from './component-cache';
import type { FromWorker, GuestEvent, Header, InvokeMessage, LoadMessage, TrapInfo, WasmModule } from './protocol';
import { CONTROL_PAUSED, CONTROL_SLOTS, CONTROL_WAKE } from './protocol';

/** Where a guest's scratch directory appears inside the component (its `IGNITE_TEMP_DIR`). */
export const GUEST_TEMP_DIR = '/tmp';

/** What a guest runs: one component, instantiated with this configuration. */
export interface GuestConfig {
  glueUrl: string;
  modules: Record<string, WasmModule>;
  env: [string, string][];
  /** The host directory preopened as the guest's `/tmp`; the guest's own, removed with it. */
  tempDir: string;
  memoryLimitBytes: number;
  startTimeoutMs: number;
}

export interface GuestTimings {
  /** From taking a worker to the component answering its readiness probe. */
  readyMs: number;
  importMs: number;
  instantiateMs: number;
  probeMs: number;
}

/** Whoever uses a guest hears what it does. */
export interface GuestOwner {
  events(seq: number, events: GuestEvent[]): void;
  finished(seq: number, events: GuestEvent[], trap: TrapInfo | undefined): void;
  /** The worker is gone on its own (an error, its JS heap ran out, it exited). */
  died(guest: Guest, why: string, memory: boolean): void;
}

/** Worker threads started ahead of need: a new guest does not wait for a thread to boot. */
export class SpareWorkers {
  private readonly spares: Worker[] = [];
  private closed = false;
  private refilling = false;

  constructor(
    private readonly size: number,
    private readonly heapMb: number,
  ) {}

  take(): Worker {
    const worker = this.spares.shift() ?? this.spawn();
    worker.removeAllListeners('exit');
    worker.ref();
    this.refill();
    return worker;
  }

  refill(): void {
    if (this.closed || this.refilling || this.spares.length >= this.size) return;
    this.refilling = true;
    setImmediate(() => {
      this.refilling = false;
      while (!this.closed && this.spares.length < this.size) {
        const worker = this.spawn();
        worker.unref();
        worker.once('exit', () => {
          const index = this.spares.indexOf(worker);
          if (index !== -1) this.spares.splice(index, 1);
        });
        this.spares.push(worker);
      }
    });
  }

  close(): Promise<unknown> {
    this.closed = true;
    return Promise.all(this.spares.splice(0).map((worker) => worker.terminate()));
  }

  private spawn(): Worker {
    return new Worker(workerScript('guest-worker'), {
      resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
  }
}

/**
 * One instantiation of a component in a worker thread of its own (`guest-worker.cts`): loaded
 * and probed at creation, then it runs invocations one at a time for its owner. A guest that
 * trapped or hung is retired (its worker terminated) and never used again.
 */
export class Guest {
  readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT));
  readonly loaded: Promise<GuestTimings>;
  owner: GuestOwner | null = null;
  retired = false;
  private failLoad: (error: Error) => void = () => {};
  /** Logs written before an owner took it (at instantiation, in the probe). */
  private early: GuestEvent[] = [];

  constructor(
    readonly worker: Worker,
    readonly config: GuestConfig,
    private readonly onRetired: (guest: Guest) => void,
  ) {
    const takenAt = performance.now();
    this.loaded = new Promise<GuestTimings>((resolve, reject) => {
      this.failLoad = reject;
      const timer = setTimeout(
        () => reject(new InvocationError(ErrorCode.badGateway, `the function did not become ready within ${config.startTimeoutMs} ms`)),
        config.startTimeoutMs,
      );
      worker.on('message', (message: FromWorker) => {
        if (this.retired) return;
        switch (message.kind) {
          case 'loaded':
            clearTimeout(timer);
            resolve({
              readyMs: round(performance.now() - takenAt),
              importMs: round(message.importMs),
              instantiateMs: round(message.instantiateMs),
              probeMs: round(message.probeMs),
            });
            return;
          case 'load-failed':
            clearTimeout(timer);
            reject(new InvocationError(ErrorCode.badGateway, `the function's component could not be started: ${message.message}`));
            return;
          case 'events':
            if (this.owner === null) this.early.push(...message.events.filter((event) => event.type === 'log'));
            else this.owner.events(message.seq, message.events);
            return;
          case 'finished':
            this.owner?.finished(message.seq, message.events, message.trap);
        }
      });
      worker.on('error', (error) => {
        clearTimeout(timer);
        if (this.retired) return;
        reject(error);
        this.owner?.died(this, `its worker failed: ${error.message}`, /out of memory/i.test(error.message));
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        if (this.retired) return;
        reject(new Error(`its worker exited with code ${code}`));
        this.owner?.died(this, `its worker exited with code ${code}`, false);
      });
    });
    // Whoever waits for it handles a failure; nobody may be waiting yet.
    this.loaded.catch(() => {});
    const load: LoadMessage = {
      kind: 'load',
      glueUrl: config.glueUrl,
      modules: config.modules,
      env: config.env,
      preopen: { hostPath: config.tempDir, guestPath: GUEST_TEMP_DIR },
      control: this.control.buffer as SharedArrayBuffer,
      memoryLimitBytes: config.memoryLimitBytes,
    };
    worker.postMessage(load);
  }

  /** Becomes `owner`'s: it hears the logs written so far, and everything from now on. */
  adopt(owner: GuestOwner): void {
    this.owner = owner;
    const early = this.early;
    this.early = [];
    if (early.length > 0) owner.events(0, early);
  }

  invoke(seq: number, request: { method: string; path: string; headers: string[]; body: Buffer | null }): void {
    Atomics.store(this.control, CONTROL_PAUSED, 0);
    const headers: Header[] = [];
    for (let i = 0; i + 1 < request.headers.length; i += 2) headers.push([request.headers[i]!, request.headers[i + 1]!]);
    // A copy of the body of its own, moved to the worker.
    const body = request.body === null ? null : new Uint8Array(request.body);
    const message: InvokeMessage = { kind: 'invoke', seq, method: request.method, pathWithQuery: request.path, headers, body };
    this.worker.postMessage(message, body === null ? [] : [body.buffer]);
  }

  /** The caller is slow: the response body's stream takes nothing until `resume`. */
  pause(): void {
    Atomics.store(this.control, CONTROL_PAUSED, 1);
  }

  resume(): void {
    Atomics.store(this.control, CONTROL_PAUSED, 0);
    this.wake();
  }

  /** Terminates the worker; its late messages and exit are ignored. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.owner = null;
    this.failLoad(new Error('the instance was stopped'));
    // Wake it from any wait so that it notices termination at once.
    this.wake();
    void this.worker.terminate().catch(() => {});
    this.onRetired(this);
  }

  private wake(): void {
    Atomics.add(this.control, CONTROL_WAKE, 1);
    Atomics.notify(this.control, CONTROL_WAKE);
  }
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
