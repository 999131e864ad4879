import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import { InvocationError } from './errors';
import type { ExitInfo, FunctionInstance, InstanceKind } from './instance';
import type { Metrics } from './metrics';
import type { ReleaseTarget, ResolvedFunction } from './release-resolver';

export interface PoolOptions {
  kinds: InstanceKind[];
  maxInstancesPerFunction: number;
  maxInstances: number;
  maxInFlightPerInstance: number;
  queueWaitMs: number;
  queueLength: number;
  idleTimeoutMs: number;
  logger: Logger;
  metrics: Metrics;
}

/**
 * - `starting`: launched, not ready yet;
 * - `ready`: serving;
 * - `draining`: no new work (older release, or condemned), finishing what is in flight;
 * - `stopping`: told to exit, no longer counted against the caps;
 * - `gone`.
 */
type RecordState = 'starting' | 'ready' | 'draining' | 'stopping' | 'gone';

interface InstanceRecord {
  instance: FunctionInstance;
  fn: FunctionState;
  state: RecordState;
  /** Counted in its function's `startingCapacity` while starting. */
  pendingCapacity: boolean;
  /** Most invocations in flight on it: the pool's cap, or its kind's when lower. */
  capacity: number;
  inFlight: number;
  served: number;
  lastUsed: number;
  /** Kill it once nothing is in flight on it (time limit, broken protocol). */
  condemned: string | null;
  leases: Set<Lease>;
  startedAt: number;
}

interface Waiter {
  executionId: string;
  enqueuedAt: number;
  timer: NodeJS.Timeout;
  resolve: (lease: Lease) => void;
  reject: (error: InvocationError) => void;
}

/** Per app: its current resolution, the instances of it, the invocations waiting for one. */
interface FunctionState {
  fn: ResolvedFunction;
  instances: InstanceRecord[];
  waiters: Waiter[];
  /** In-flight slots the starting instances will bring. */
  startingCapacity: number;
}

/** One invocation's hold on an instance, from `acquire` to `release`. */
export class Lease {
  released = false;
  /** Set by the invocation: hears it when the instance dies under it. */
  onInstanceExit: ((info: ExitInfo) => void) | null = null;

  constructor(
    readonly record: InstanceRecord,
    readonly executionId: string,
    /** This invocation is the first one the instance served (it waited for the start). */
    readonly cold: boolean,
  ) {}

  get instance(): FunctionInstance {
    return this.record.instance;
  }
}

export interface PoolStats {
  starting: number;
  ready: number;
  busy: number;
  draining: number;
  stopping: number;
  waiting: number;
}

/**
 * Which instance serves which invocation. Warm instances are reused (the least loaded first)
 * up to `maxInFlightPerInstance` each; more instances start on demand up to the per-function and
 * total caps; when the total cap is reached, idle instances of other functions are evicted,
 * least recently used first; beyond that invocations wait in a bounded queue, then get 503.
 * A new configuration of an app (release, env, memory limit) drains the old instances: what is
 * in flight on them finishes, everything new goes to the new ones.
 */
export class InstancePool {
  private readonly functions = new Map<string, FunctionState>();
  private readonly kinds = new Map<ReleaseTarget, InstanceKind>();
  /** Idle ready instances, least recently used first. */
  private readonly idle = new Set<InstanceRecord>();
  /** Functions whose waiters need an instance and found the total cap full. */
  private readonly blocked = new Set<FunctionState>();
  private readonly records = new Set<InstanceRecord>();
  /** Instances counted against `maxInstances`: all but stopping and gone. */
  private live = 0;
  private readonly sweeper: NodeJS.Timeout;
  private shuttingDown = false;
  private readonly emptied: (() => void)[] = [];

  constructor(private readonly options: PoolOptions) {
    for (const kind of options.kinds) this.kinds.set(kind.target, kind);
    this.sweeper = setInterval(() => this.sweepIdle(), Math.max(50, Math.min(options.idleTimeoutMs / 2, 5_000)));
    this.sweeper.unref();
  }

  supports(target: ReleaseTarget): boolean {
    return this.kinds.has(target);
  }

  /** A warm slot right now, if there is one and nobody waits before us: the hot path, without a promise. */
  tryAcquire(fn: ResolvedFunction, executionId: string): Lease | null {
    const state = this.stateOf(fn);
    if (state.waiters.length > 0) return null;
    const record = this.pickReady(state);
    return record === null ? null : this.assign(record, executionId);
  }

  /** An instance slot for one invocation of `fn` (which must have a release of a supported target). */
  acquire(fn: ResolvedFunction, executionId: string): Promise<Lease> {
    const warm = this.tryAcquire(fn, executionId);
    if (warm !== null) return Promise.resolve(warm);
    const state = this.stateOf(fn);
    if (this.shuttingDown) return Promise.reject(new InvocationError(ErrorCode.unavailable, 'the runner is shutting down'));
    if (state.waiters.length >= this.options.queueLength) {
      this.options.metrics.queueRejected.inc();
      return Promise.reject(
        new InvocationError(
          ErrorCode.unavailable,
          `${fn.functionId} is saturated: every instance is busy and the queue is full; retry later`,
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        executionId,
        enqueuedAt: performance.now(),
        timer: setTimeout(() => this.waitedTooLong(state, waiter), this.options.queueWaitMs),
        resolve,
        reject,
      };
      state.waiters.push(waiter);
      this.pump(state);
    });
  }

  /**
   * The invocation is over. `condemn`: the instance must not serve again (it blew the time limit
   * or broke the protocol); it is killed once nothing else is in flight on it.
   */
  release(lease: Lease, condemn?: string): void {
    if (lease.released) return;
    lease.released = true;
    const record = lease.record;
    record.leases.delete(lease);
    record.instance.inFlight.delete(lease.executionId);
    record.inFlight--;
    record.lastUsed = performance.now();
    if (condemn !== undefined && record.state !== 'gone' && record.condemned === null) {
      record.condemned = condemn;
      this.retire(record);
    }
    if (record.state === 'gone' || record.state === 'stopping') return;
    if (record.condemned !== null) {
      if (record.inFlight === 0) {
        this.toStopping(record);
        record.instance.kill(record.condemned);
      }
      return;
    }
    if (record.state === 'draining') {
      if (record.inFlight === 0) this.stopRecord(record);
      return;
    }
    if (record.inFlight === 0) this.idle.add(record);
    this.pump(record.fn);
    if (this.blocked.size > 0 && this.idle.size > 0) this.pumpBlocked();
  }

  /** The app has a fresher resolution (a new release, say): from now on invocations get it. */
  refresh(fn: ResolvedFunction): void {
    const state = this.functions.get(fn.appId);
    if (state !== undefined && fn.generation > state.fn.generation) this.update(state, fn);
  }

  /**
   * Starts an instance of `fn`'s release now, before any invocation asks for one, when it has none
   * and the runner has room (a wasm release announced as published: its host is then running when
   * the first invocation comes). From then on it is an ordinary idle instance: stopped when idle
   * too long, evicted first when another function needs the room.
   */
  prewarm(fn: ResolvedFunction): void {
    if (this.shuttingDown || fn.release === null || !this.kinds.has(fn.release.target)) return;
    if (this.live >= this.options.maxInstances) return;
    const state = this.stateOf(fn);
    if (state.instances.some((record) => record.state === 'starting' || record.state === 'ready')) return;
    this.startInstance(state);
  }

  /** Whether an app has instances or waiters here. */
  knows(appId: string): boolean {
    return this.functions.has(appId);
  }

  stats(): PoolStats {
    const stats: PoolStats = { starting: 0, ready: 0, busy: 0, draining: 0, stopping: 0, waiting: 0 };
    for (const record of this.records) {
      if (record.state === 'gone') continue;
      if (record.state === 'ready') {
        stats.ready++;
        if (record.inFlight > 0) stats.busy++;
      } else stats[record.state]++;
    }
    for (const state of this.functions.values()) stats.waiting += state.waiters.length;
    return stats;
  }

  /** Refuses new work, lets in-flight work finish, stops every instance; resolves when all are gone. */
  async shutdown(timeoutMs: number): Promise<void> {
    this.shuttingDown = true;
    clearInterval(this.sweeper);
    for (const state of this.functions.values()) {
      for (const waiter of state.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new InvocationError(ErrorCode.unavailable, 'the runner is shutting down'));
      }
      state.startingCapacity = 0;
    }
    for (const record of [...this.records]) {
      if (record.state === 'starting') {
        record.state = 'draining';
        this.unlist(record);
        record.instance.kill('the runner is shutting down');
      } else if (record.state === 'ready' || record.state === 'draining') {
        this.retire(record);
        if (record.inFlight === 0) this.stopRecord(record);
      }
    }
    if (this.records.size === 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const record of this.records) record.instance.kill('the runner is shutting down');
        setTimeout(resolve, 500).unref();
      }, timeoutMs);
      timer.unref();
      this.emptied.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private stateOf(fn: ResolvedFunction): FunctionState {
    let state = this.functions.get(fn.appId);
    if (state === undefined) {
      state = { fn, instances: [], waiters: [], startingCapacity: 0 };
      this.functions.set(fn.appId, state);
    } else if (fn.generation > state.fn.generation) {
      this.update(state, fn);
    }
    return state;
  }

  private update(state: FunctionState, fn: ResolvedFunction): void {
    const changed = fn.configKey !== state.fn.configKey;
    state.fn = fn;
    if (!changed) return;
    for (const record of [...state.instances]) {
      this.retire(record);
      if (record.state === 'draining' && record.inFlight === 0 && record.condemned === null) this.stopRecord(record);
    }
    state.startingCapacity = 0;
    this.pump(state);
  }

  /** The least loaded ready instance with a free slot. */
  private pickReady(state: FunctionState): InstanceRecord | null {
    let best: InstanceRecord | null = null;
    for (const record of state.instances) {
      if (record.state !== 'ready' || record.inFlight >= record.capacity) continue;
      if (best === null || record.inFlight < best.inFlight) best = record;
      if (record.inFlight === 0) break;
    }
    return best;
  }

  private assign(record: InstanceRecord, executionId: string): Lease {
    const lease = new Lease(record, executionId, record.served === 0);
    record.served++;
    record.inFlight++;
    record.leases.add(lease);
    record.instance.inFlight.add(executionId);
    this.idle.delete(record);
    return lease;
  }

  /** Hands ready slots to waiters in order, starting instances when the waiters outnumber what is coming. */
  private pump(state: FunctionState): void {
    while (state.waiters.length > 0) {
      const record = this.pickReady(state);
      if (record !== null) {
        const waiter = state.waiters.shift()!;
        clearTimeout(waiter.timer);
        this.options.metrics.queueWait.observe((performance.now() - waiter.enqueuedAt) / 1000);
        waiter.resolve(this.assign(record, waiter.executionId));
        continue;
      }
      if (state.waiters.length <= state.startingCapacity) break;
      if (!this.startInstance(state)) break;
    }
    if (state.waiters.length === 0) this.blocked.delete(state);
  }

  private pumpBlocked(): void {
    for (const state of [...this.blocked]) {
      this.blocked.delete(state);
      this.pump(state);
      if (this.live >= this.options.maxInstances && this.idle.size === 0) break;
    }
  }

  private startInstance(state: FunctionState): boolean {
    if (this.shuttingDown || state.fn.release === null) return false;
    if (state.instances.length >= this.options.maxInstancesPerFunction) return false;
    if (this.live >= this.options.maxInstances && !this.evictIdle()) {
      this.blocked.add(state);
      return false;
    }
    const kind = this.kinds.get(state.fn.release.target);
    if (kind === undefined) return false;
    const instance = kind.create({ id: randomUUID(), fn: state.fn, release: state.fn.release });
    const record: InstanceRecord = {
      instance,
      fn: state,
      state: 'starting',
      pendingCapacity: true,
      capacity: Math.min(kind.maxInFlight ?? Number.POSITIVE_INFINITY, this.options.maxInFlightPerInstance),
      inFlight: 0,
      served: 0,
      lastUsed: performance.now(),
      condemned: null,
      leases: new Set(),
      startedAt: performance.now(),
    };
    this.records.add(record);
    state.instances.push(record);
    state.startingCapacity += record.capacity;
    this.live++;
    instance.onExit((info) => this.exited(record, info));
    instance.start().then(
      () => this.started(record),
      (error: unknown) => this.startFailed(record, error),
    );
    return true;
  }

  private started(record: InstanceRecord): void {
    this.options.metrics.coldStart.observe((performance.now() - record.startedAt) / 1000);
    this.dropPendingCapacity(record);
    if (record.state !== 'starting') {
      // Retired while starting (a newer release, shutdown): it never serves.
      if (record.state === 'draining') this.stopRecord(record);
      return;
    }
    record.state = 'ready';
    record.lastUsed = performance.now();
    this.idle.add(record);
    this.pump(record.fn);
    if (this.blocked.size > 0 && this.idle.size > 0) this.pumpBlocked();
  }

  private startFailed(record: InstanceRecord, error: unknown): void {
    this.options.metrics.startFailures.inc();
    this.dropPendingCapacity(record);
    const current = record.fn.instances.includes(record);
    this.unlist(record);
    this.forget(record);
    const failure =
      error instanceof InvocationError ? error : new InvocationError(ErrorCode.internal, "the function's instance could not be started");
    if (!(error instanceof InvocationError))
      this.options.logger.error({ err: error, functionId: record.fn.fn.functionId }, 'instance start failed');
    if (current) {
      // Whoever waits for this function would only watch the same start fail again.
      for (const waiter of record.fn.waiters.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(failure);
      }
      this.blocked.delete(record.fn);
    }
    this.afterCapacityFreed();
  }

  private exited(record: InstanceRecord, info: ExitInfo): void {
    this.options.metrics.instanceExits.labels(info.cause).inc();
    this.unlist(record);
    this.forget(record);
    for (const lease of record.leases) lease.onInstanceExit?.(info);
    this.pump(record.fn);
    this.afterCapacityFreed();
  }

  private afterCapacityFreed(): void {
    if (this.blocked.size > 0) this.pumpBlocked();
    if (this.records.size === 0) for (const done of this.emptied.splice(0)) done();
  }

  private waitedTooLong(state: FunctionState, waiter: Waiter): void {
    const index = state.waiters.indexOf(waiter);
    if (index === -1) return;
    if (index < state.startingCapacity) {
      // An instance is starting for it: the start timeout bounds this wait.
      waiter.timer = setTimeout(() => this.waitedTooLong(state, waiter), this.options.queueWaitMs);
      return;
    }
    state.waiters.splice(index, 1);
    if (state.waiters.length === 0) this.blocked.delete(state);
    this.options.metrics.queueRejected.inc();
    waiter.reject(
      new InvocationError(
        ErrorCode.unavailable,
        `${state.fn.functionId} is saturated: no instance was free within ${this.options.queueWaitMs} ms; retry later`,
      ),
    );
  }

  /** Evicts the least recently used idle instance; false if there is none. */
  private evictIdle(): boolean {
    for (const record of this.idle) {
      this.unlist(record);
      this.stopRecord(record);
      this.options.metrics.evictions.inc();
      return true;
    }
    return false;
  }

  private sweepIdle(): void {
    const deadline = performance.now() - this.options.idleTimeoutMs;
    for (const record of this.idle) {
      if (record.lastUsed > deadline) break;
      this.unlist(record);
      this.stopRecord(record);
    }
  }

  /** Out of its function's instances: no new work goes to it; it keeps what is in flight. */
  private retire(record: InstanceRecord): void {
    this.unlist(record);
    if (record.state === 'ready' || record.state === 'starting') {
      record.state = 'draining';
      record.instance.retire?.();
    }
  }

  /** Removes it from its function's list, the idle list and the pending capacity. */
  private unlist(record: InstanceRecord): void {
    const list = record.fn.instances;
    const index = list.indexOf(record);
    if (index !== -1) list.splice(index, 1);
    this.idle.delete(record);
    this.dropPendingCapacity(record);
  }

  private dropPendingCapacity(record: InstanceRecord): void {
    if (!record.pendingCapacity) return;
    record.pendingCapacity = false;
    if (record.fn.instances.includes(record) || record.state === 'starting') {
      record.fn.startingCapacity = Math.max(0, record.fn.startingCapacity - record.capacity);
    }
  }

  private stopRecord(record: InstanceRecord): void {
    if (record.state === 'stopping' || record.state === 'gone') return;
    this.toStopping(record);
    record.instance.stop();
  }

  private toStopping(record: InstanceRecord): void {
    if (record.state === 'stopping' || record.state === 'gone') return;
    record.state = 'stopping';
    this.idle.delete(record);
    this.live--;
  }

  private forget(record: InstanceRecord): void {
    if (record.state !== 'stopping' && record.state !== 'gone') this.live--;
    record.state = 'gone';
    this.idle.delete(record);
    this.records.delete(record);
  }
}
