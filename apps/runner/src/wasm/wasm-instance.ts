import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { ErrorCode } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import { errorBody, InvocationError } from '../errors';
import { FunctionLog } from '../function-log';
import type {
  Exchange,
  ExitCause,
  ExitInfo,
  FlowControl,
  FunctionInstance,
  InstanceKind,
  InstanceSpec,
  ProxyRequest,
  ResponseSink,
} from '../instance';
import type { ResolvedFunction } from '../release-resolver';
import { type ArtifactSource, ComponentCache, workerScript } from './component-cache';
import { GUEST_TEMP_DIR, Guest, type GuestOwner, type GuestTimings, round, SpareWorkers } from './guest';
import type { GuestEvent, Header, HostModule, TrapInfo } from './protocol';

const MiB = 1024 * 1024;
/** How long after a standby was taken the next one is started. */
const STANDBY_REFILL_DELAY_MS = 250;

export interface WasmKindOptions {
  /** Verified local copies of artifacts (the runner's `ArtifactCache`). */
  artifacts: ArtifactSource;
  logger: Logger;
  /** Transpiled components, `<dir>/<sha256>/` (e.g. `<data dir>/runner/wasm`). */
  cacheDir: string;
  /** The guests' scratch directories (each guest's `/tmp`) go under it. */
  instancesDir: string;
  /** How long loading, instantiating and probing a component may take; past it the start fails (502). */
  startTimeoutMs: number;
  /** How long a stopping instance may finish what it has before it is terminated. */
  stopGraceMs: number;
  logLinesPerSecond: number;
  /** Worker threads started ahead of need, so that a new guest does not wait for one (default 1). */
  spareWorkers?: number;
  /**
   * Component instances kept loaded and probed, ready for the next start of their function (a
   * scale-out, a replacement, the first invocation of a prepared release): at most this many in
   * all, one per function configuration (default 8; 0: none).
   */
  standbyInstances?: number;
  /** A standby not taken for this long is dropped (default 10 minutes). */
  standbyIdleMs?: number;
  /** JS heap limit of a guest worker in MiB: the component's JS glue, not its linear memory (default 64). */
  workerHeapMb?: number;
}

interface Standby {
  key: string;
  /** Launched, possibly still loading. */
  guest: Promise<Guest>;
  /** Drops it when it is not taken for a while. */
  timer: NodeJS.Timeout;
}

/**
 * wasm artifacts: `wasm32-wasip2` components exporting `wasi:http/incoming-handler`, run in the
 * runner's process. An instance is one instantiation of the component in a worker thread of its
 * own, reused invocation after invocation (like a native process: statics keep their values),
 * one invocation at a time (a component instance cannot be re-entered, and a guest blocks its
 * thread while it runs).
 *
 * Starting an instance costs tens of milliseconds (a worker, jco's JS glue, instantiation), so
 * the kind keeps standby instances, loaded and probed, for the functions it saw or was asked to
 * `prepare`: a start takes one (then makes the next in the background).
 */
export class WasmKind implements InstanceKind {
  readonly target = 'wasm' as const;
  /** One invocation at a time per instance: the pool should start more instances instead of queueing on one. */
  readonly maxInFlight = 1;
  readonly components: ComponentCache;
  private readonly workers: SpareWorkers;
  private readonly cleanups = new Set<Promise<void>>();
  private readonly standbys = new Map<string, Standby>();
  private readonly maxStandbys: number;
  private readonly standbyIdleMs: number;
  private closed = false;

  constructor(readonly options: WasmKindOptions) {
    const hostModule = require(workerScript('wasi-host')) as HostModule;
    this.components = new ComponentCache({
      dir: options.cacheDir,
      artifacts: options.artifacts,
      logger: options.logger,
      supportedInterfaces: hostModule.SUPPORTED_INTERFACES,
    });
    this.workers = new SpareWorkers(options.spareWorkers ?? 1, options.workerHeapMb ?? 64);
    this.workers.refill();
    this.maxStandbys = options.standbyInstances ?? 8;
    this.standbyIdleMs = options.standbyIdleMs ?? 600_000;
  }

  create(spec: InstanceSpec): FunctionInstance {
    return new WasmInstance(spec, this);
  }

  /**
   * Gets a function's release ready ahead of its first invocation (on a release announcement,
   * say): transpiles and compiles its component and starts a standby instance of it, so that the
   * first invocation only runs the handler.
   */
  async prepare(fn: ResolvedFunction): Promise<void> {
    if (fn.release === null || fn.release.target !== 'wasm') return;
    const component = await this.components.transpiled(fn.release.artifactSha256);
    await this.components.modules(component, fn.memoryMb * MiB);
    this.keepStandby(fn);
    const standby = this.standbys.get(standbyKey(fn));
    if (standby !== undefined) await (await standby.guest).loaded;
  }

  /** A loaded guest for `fn`: its standby if there is one (then the next standby is started), else a new one. */
  async takeGuest(fn: ResolvedFunction): Promise<{ guest: Guest; timings: GuestTimings | null }> {
    const key = standbyKey(fn);
    const standby = this.standbys.get(key);
    if (standby !== undefined) {
      this.standbys.delete(key);
      clearTimeout(standby.timer);
      try {
        const guest = await standby.guest;
        await guest.loaded;
        if (!guest.retired) {
          // The next standby is made a little later: not on the cores the first invocation needs now.
          setTimeout(() => this.keepStandby(fn), STANDBY_REFILL_DELAY_MS).unref();
          return { guest, timings: null };
        }
      } catch {
        // Start afresh below: the failure, if it lasts, is reported by that start.
      }
    }
    const guest = await this.launch(fn);
    try {
      const timings = await guest.loaded;
      this.keepStandby(fn);
      return { guest, timings };
    } catch (error) {
      guest.retire();
      throw error;
    }
  }

  /** Stops the spare workers and standbys, then waits for the scratch directories of gone guests to be removed. */
  async close(): Promise<void> {
    this.closed = true;
    const standbys = [...this.standbys.values()];
    for (const standby of standbys) this.dropStandby(standby);
    await Promise.all(standbys.map((standby) => standby.guest.catch(() => null)));
    await this.workers.close();
    await this.settled();
  }

  /** Resolves once the scratch directories of gone guests are removed. */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all(this.cleanups);
  }

  /** A new guest for `fn`, loading. */
  private async launch(fn: ResolvedFunction): Promise<Guest> {
    const release = fn.release!;
    const component = await this.components.transpiled(release.artifactSha256);
    const modules = await this.components.modules(component, fn.memoryMb * MiB);
    const tempDir = join(this.options.instancesDir, randomUUID());
    await mkdir(tempDir, { recursive: true });
    const env: Record<string, string> = { ...fn.env, IGNITE_FUNCTION_ID: fn.functionId, IGNITE_TEMP_DIR: GUEST_TEMP_DIR };
    return new Guest(
      this.workers.take(),
      {
        glueUrl: component.glueUrl,
        modules,
        env: Object.entries(env),
        tempDir,
        memoryLimitBytes: fn.memoryMb * MiB,
        startTimeoutMs: this.options.startTimeoutMs,
      },
      (guest) => this.removeLater(guest.config.tempDir),
    );
  }

  /** Makes sure `fn` has a standby (the least recently used one goes when there are too many). */
  private keepStandby(fn: ResolvedFunction): void {
    if (this.closed || this.maxStandbys === 0) return;
    const key = standbyKey(fn);
    const existing = this.standbys.get(key);
    if (existing !== undefined) {
      // Most recently used last.
      this.standbys.delete(key);
      this.standbys.set(key, existing);
      existing.timer.refresh();
      return;
    }
    while (this.standbys.size >= this.maxStandbys) this.dropStandby(this.standbys.values().next().value!);
    const standby: Standby = { key, guest: this.launch(fn), timer: setTimeout(() => this.dropStandby(standby), this.standbyIdleMs) };
    standby.timer.unref();
    this.standbys.set(key, standby);
    standby.guest.then(
      (guest) => {
        if (this.standbys.get(key) !== standby) {
          guest.retire();
          return;
        }
        guest.adopt({
          events: (_seq, events) => logStandby(this.options.logger, fn, events),
          finished: () => {},
          died: () => this.dropStandby(standby),
        });
        guest.loaded.catch((error: unknown) => {
          // A standby retired while it loaded (dropped, taken and stopped, closed) is no news.
          if (guest.retired) return;
          this.options.logger.warn({ err: error, functionId: fn.functionId }, 'a standby instance could not be started');
          this.dropStandby(standby);
        });
      },
      (error: unknown) => {
        this.options.logger.warn({ err: error, functionId: fn.functionId }, 'a standby instance could not be started');
        this.dropStandby(standby);
      },
    );
  }

  private dropStandby(standby: Standby): void {
    if (this.standbys.get(standby.key) === standby) this.standbys.delete(standby.key);
    clearTimeout(standby.timer);
    standby.guest.then(
      (guest) => guest.retire(),
      () => {},
    );
  }

  private removeLater(dir: string): void {
    const removal = rm(dir, { recursive: true, force: true })
      .catch((error: unknown) => this.options.logger.warn({ err: error, dir }, 'could not remove a guest directory'))
      .finally(() => this.cleanups.delete(removal));
    this.cleanups.add(removal);
  }
}

/** Standbys of the same function configuration are interchangeable. */
function standbyKey(fn: ResolvedFunction): string {
  const env = Object.entries(fn.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([fn.functionId, fn.release?.artifactSha256, fn.memoryMb, env]))
    .digest('hex');
}

function logStandby(logger: Logger, fn: ResolvedFunction, events: GuestEvent[]): void {
  for (const event of events) {
    if (event.type === 'log') {
      logger.info(
        { functionId: fn.functionId, stream: event.stream, text: Buffer.from(event.data).toString('utf8').trimEnd() },
        'function log',
      );
    }
  }
}

/** One exchange, queued or running in the guest. */
interface Pending {
  seq: number;
  request: ProxyRequest;
  sink: ResponseSink;
  /** The response's head reached the sink. */
  started: boolean;
  ended: boolean;
  aborted: boolean;
}

type State = 'new' | 'starting' | 'ready' | 'stopping' | 'exited';

class WasmInstance implements FunctionInstance, GuestOwner {
  readonly inFlight = new Set<string>();
  private state: State = 'new';
  private guest: Guest | null = null;
  /** A replacement being started (after a trap or an abandoned invocation). */
  private replacing: Promise<void> | null = null;
  private readonly queue: Pending[] = [];
  private current: Pending | null = null;
  private seq = 0;
  private killReason: string | null = null;
  private stopRequested = false;
  private exitListener: ((info: ExitInfo) => void) | null = null;
  private readonly logger: Logger;
  private readonly log: FunctionLog;
  private stopTimer: NodeJS.Timeout | null = null;

  private readonly flow: FlowControl = {
    pause: () => this.guest?.pause(),
    resume: () => this.guest?.resume(),
  };

  constructor(
    readonly spec: InstanceSpec,
    private readonly kind: WasmKind,
  ) {
    this.logger = kind.options.logger.child({ functionId: spec.fn.functionId, release: spec.release.number, instance: spec.id });
    this.log = new FunctionLog({
      logger: this.logger,
      maxLinesPerSecond: kind.options.logLinesPerSecond,
      executionId: () => this.current?.request.executionId,
    });
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListener = listener;
  }

  async start(): Promise<void> {
    const startedAt = performance.now();
    this.state = 'starting';
    try {
      const { guest, timings } = await this.kind.takeGuest(this.spec.fn);
      if (this.killReason !== null) {
        guest.retire();
        throw new InvocationError(ErrorCode.unavailable, `the function's instance was stopped before it was ready (${this.killReason})`);
      }
      this.adopt(guest);
      this.state = 'ready';
      this.logger.info({ startMs: round(performance.now() - startedAt), standby: timings === null, ...(timings ?? {}) }, 'instance ready');
    } catch (error) {
      this.state = 'exited';
      this.log.end();
      if (error instanceof InvocationError) throw error;
      this.logger.warn({ err: error }, 'wasm instance start failed');
      throw new InvocationError(ErrorCode.badGateway, `the function's component could not be started: ${(error as Error).message}`);
    }
  }

  exchange(request: ProxyRequest, sink: ResponseSink): Exchange {
    if (this.state !== 'ready') {
      queueMicrotask(() => sink.error(new Error('the instance is not serving')));
      return { abort: () => {} };
    }
    const pending: Pending = { seq: ++this.seq, request, sink, started: false, ended: false, aborted: false };
    this.queue.push(pending);
    this.next();
    return { abort: (reason) => this.abort(pending, reason) };
  }

  stop(): void {
    if (this.state === 'starting') {
      this.kill('stopped before it was ready');
      return;
    }
    if (this.state !== 'ready') return;
    this.state = 'stopping';
    this.stopRequested = true;
    if (this.current === null && this.queue.length === 0) {
      this.exit();
      return;
    }
    // What is in flight finishes first, within the grace period.
    this.stopTimer = setTimeout(() => this.kill('it did not finish within the stop grace period'), this.kind.options.stopGraceMs);
    this.stopTimer.unref();
  }

  kill(reason: string): void {
    if (this.state === 'exited') return;
    this.killReason ??= reason;
    // While starting, `start` notices and fails.
    if (this.state !== 'starting') this.exit();
  }

  // ------------------------------------------------------------ guests

  private adopt(guest: Guest): void {
    this.guest = guest;
    guest.adopt(this);
  }

  /**
   * The component instance is unusable (it trapped, or an invocation was abandoned while it ran):
   * it is never used again. A fresh one is taken when there is something to run (usually a
   * standby), so that an instance the pool is about to kill (after a time limit) takes none.
   */
  private replaceGuest(why: string): void {
    this.retireGuest(why);
    this.next();
  }

  /** Drops the guest first, so that an answer sent now for its last invocation cannot bring it a new one. */
  private retireGuest(why: string): void {
    if (this.guest === null) return;
    this.guest.retire();
    this.guest = null;
    this.logger.info({ reason: why }, 'component instance retired');
  }

  private startReplacement(): void {
    const replacing = this.kind.takeGuest(this.spec.fn).then(
      ({ guest }) => {
        if (this.replacing !== replacing || this.state === 'exited') {
          guest.retire();
          return;
        }
        this.replacing = null;
        this.adopt(guest);
        this.next();
      },
      (error: unknown) => {
        if (this.replacing !== replacing) return;
        this.replacing = null;
        this.logger.warn({ err: error }, 'could not replace the component instance');
        this.exit('crashed', `a fresh component instance could not be started: ${(error as Error).message}`);
      },
    );
    this.replacing = replacing;
  }

  died(guest: Guest, why: string, memory: boolean): void {
    if (guest !== this.guest) return;
    this.logger.warn({ reason: why }, 'the component instance died');
    this.retireGuest(why);
    const pending = this.current;
    this.current = null;
    if (pending !== null) this.failPending(pending, { message: why, memory, exitCode: null });
    this.next();
  }

  // ------------------------------------------------------------ invocations

  private next(): void {
    if (this.current !== null || this.state === 'exited') return;
    if (this.queue.length === 0) {
      if (this.state === 'stopping') this.exit();
      return;
    }
    const guest = this.guest;
    if (guest === null) {
      if (this.replacing === null) this.startReplacement();
      return;
    }
    const pending = this.queue.shift()!;
    this.current = pending;
    guest.invoke(pending.seq, pending.request);
  }

  events(seq: number, events: GuestEvent[]): void {
    this.deliver(seq, events);
  }

  finished(seq: number, events: GuestEvent[], trap: TrapInfo | undefined): void {
    this.deliver(seq, events);
    const pending = this.current;
    if (pending === null || pending.seq !== seq) return;
    this.current = null;
    if (trap !== undefined) {
      this.logger.warn({ executionId: pending.request.executionId, reason: trap.message, memory: trap.memory }, 'the component trapped');
      this.retireGuest(`it trapped: ${trap.message}`);
      this.failPending(pending, trap);
      this.next();
      return;
    }
    if (!pending.ended && !pending.aborted) pending.sink.error(new Error('the function returned without completing its response'));
    this.next();
  }

  private deliver(seq: number, events: GuestEvent[]): void {
    const pending = this.current !== null && this.current.seq === seq ? this.current : null;
    for (const event of events) {
      if (event.type === 'log') {
        this.log.write(Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength));
        continue;
      }
      if (pending === null || pending.aborted) continue;
      switch (event.type) {
        case 'head':
          pending.started = true;
          pending.sink.start(event.status, headersOf(event.headers), this.flow);
          break;
        case 'chunk':
          if (pending.started && !pending.ended) {
            if (!pending.sink.data(Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength))) this.flow.pause();
          }
          break;
        case 'end':
          if (pending.started && !pending.ended) {
            pending.ended = true;
            pending.sink.end();
          }
      }
    }
  }

  /** The guest is gone in the middle of `pending`: answer for it, as far as that is still possible. */
  private failPending(pending: Pending, trap: TrapInfo): void {
    if (pending.aborted || pending.ended) return;
    if (pending.started) {
      // Its head is out: the caller can only see the answer cut short.
      pending.sink.error(new Error(`the function stopped in the middle of its answer (${trap.message})`));
      return;
    }
    let message: string;
    if (trap.memory) message = `the function exceeded its memory limit of ${this.spec.fn.memoryMb} MiB and was stopped`;
    else if (trap.exitCode !== null) message = `the function exited while handling the request (exit code ${trap.exitCode})`;
    else message = `the function crashed while handling the request (${trap.message})`;
    const body = Buffer.from(errorBody(ErrorCode.functionError, message));
    pending.started = true;
    pending.ended = true;
    pending.sink.start(500, { 'content-type': 'application/json', 'content-length': String(body.length) }, this.flow);
    pending.sink.data(body);
    pending.sink.end();
  }

  private abort(pending: Pending, reason: Error): void {
    if (pending.aborted || pending.ended) return;
    pending.aborted = true;
    const queued = this.queue.indexOf(pending);
    if (queued !== -1) {
      this.queue.splice(queued, 1);
      return;
    }
    if (pending === this.current) {
      // The guest cannot be interrupted: its instance is dropped (like a cancelled future), a fresh one follows.
      this.current = null;
      this.replaceGuest(`the invocation was abandoned: ${reason.message}`);
    }
  }

  // ------------------------------------------------------------ the end

  private exit(cause?: ExitCause, reason?: string): void {
    if (this.state === 'exited') return;
    const exitCause = cause ?? (this.killReason !== null ? 'killed' : this.stopRequested ? 'stopped' : 'crashed');
    const exitReason = reason ?? this.killReason ?? undefined;
    this.state = 'exited';
    this.guest?.retire();
    this.guest = null;
    this.replacing = null;
    if (this.stopTimer !== null) clearTimeout(this.stopTimer);
    this.queue.splice(0);
    this.current = null;
    this.log.end();
    const info: ExitInfo = { cause: exitCause, code: null, signal: null };
    if (exitReason !== undefined) info.reason = exitReason;
    this.logger[exitCause === 'stopped' ? 'info' : 'warn']({ cause: exitCause, reason: exitReason }, 'instance exited');
    // After the caller's current step (an abort followed by its own answer, say) has finished.
    setImmediate(() => this.exitListener?.(info));
  }
}

/** Response headers as Node's `IncomingHttpHeaders` (lower-case names, repeated ones joined or listed). */
function headersOf(headers: Header[]): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase();
    const existing = out[name];
    if (existing === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else out[name] = `${existing}, ${value}`;
  }
  return out;
}
