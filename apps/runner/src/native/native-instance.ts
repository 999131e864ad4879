import { mkdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { DIRECT_SLOT_SPACING, directProgramEnv, ErrorCode, programEnv } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import { type Dispatcher, Pool } from 'undici';
import type { ArtifactCache } from '../artifacts';
import type { PublicTerms } from '../direct/direct-server';
import { type DirectHost, InstanceConnections } from '../direct/instance-connections';
import { InvocationError } from '../errors';
import { describeExit } from '../exit-failure';
import { FunctionLog } from '../function-log';
import type { Exchange, ExitCause, ExitInfo, FunctionInstance, InstanceKind, InstanceSpec, ProxyRequest, ResponseSink } from '../instance';
import type { Lease } from '../pool';
import type { MemoryWatcher } from './memory-watch';
import type { PortAllocator } from './ports';
import type { Handoff, ProgramStatus, SpawnedProgram, Spawner } from './spawner';

const MiB = 1024 * 1024;
const HOST = '127.0.0.1';
/** The descriptor the program writes `ready\n` to (stdin, stdout, stderr, then this pipe). */
const READY_FD = 3;
/** Direct connections: the program's message pipe (after the channel, 4; see `spawner-protocol.ts`). */
const MESSAGES_FD = 5;
/** Without a word on the ready descriptor by then, the readiness probe is polled as well. */
const PROBE_FALLBACK_AFTER_MS = 250;
const PROBE_INTERVAL_MS = 20;
/** How often a start is retried when another process holds the ports it was given. */
const PORT_ATTEMPTS = 4;
/** Rust's message when an allocation fails (as it does under the address-space limit). */
const ALLOCATION_FAILED = /^memory allocation of \d+ bytes failed/;
const PORT_IN_USE = /could not listen|address already in use|AddrInUse|EADDRINUSE/i;
/** A standby shell's word for ETXTBSY (the executable still open for writing somewhere): worth another try. */
const TEXT_FILE_BUSY = /^\S+: \d+: exec: .*: Text file busy$/;

export interface NativeKindOptions {
  artifacts: ArtifactCache;
  spawner: Spawner;
  ports: PortAllocator;
  memory: MemoryWatcher;
  logger: Logger;
  /** Per-instance scratch directories (`IGNITE_TEMP_DIR`) go under it. */
  instancesDir: string;
  /** Programs start with resource limits (no core dumps; the address space when `addressSpaceHeadroomMb` > 0). */
  limitResources: boolean;
  addressSpaceHeadroomMb: number;
  startTimeoutMs: number;
  stopGraceMs: number;
  maxInFlight: number;
  logLinesPerSecond: number;
  /** Direct connections: an idle one goes back to the runner after this many ms. */
  directIdleMs: number;
  /** The runner's largest request body, the program's too (`IGNITE_MAX_BODY_BYTES`). */
  maxBodyBytes: number;
  /** Programs start in a sandbox of their own (see apps/runner/sandbox); null: as plain processes (trusted code only). */
  sandbox: NativeSandbox | null;
}

/** How a sandboxed instance is limited. */
export interface NativeSandbox {
  /** Each instance has a cgroup (the kernel limits its memory as a whole; no resident-memory watch). */
  cgroups: boolean;
  processes: number;
  openFiles: number;
  /** The scratch directory's size, also the largest file a process may write. */
  scratchMb: number;
}

/** Where a sandboxed program finds its scratch directory. */
const SANDBOX_SCRATCH = '/scratch';
/** A sandboxed program's descriptors (`IGNITE_LISTEN_FD`; the slot file, `IGNITE_DIRECT_SLOTS_FD`). */
const LISTEN_FD = 6;
const SLOTS_FD = 7;

/** Native artifacts: Linux programs built with the SDK, serving HTTP on their own port. */
export class NativeKind implements InstanceKind {
  readonly target = 'native' as const;
  private readonly cleanups = new Set<Promise<void>>();
  /** Set when the runner has a direct port: programs then get a channel to take connections on. */
  private directHost: DirectHost | null = null;

  constructor(private readonly options: NativeKindOptions) {}

  create(spec: InstanceSpec): FunctionInstance {
    return new NativeInstance(spec, this.options, this.directHost, (dir) => this.removeLater(dir));
  }

  /** Instances started from now on can take callers' connections from `host`. */
  serveDirect(host: DirectHost): void {
    this.directHost = host;
  }

  /** Resolves once the scratch directories of gone instances are removed. */
  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all(this.cleanups);
  }

  private removeLater(dir: string): void {
    const removal = rm(dir, { recursive: true, force: true })
      .catch((error: unknown) => this.options.logger.warn({ err: error, dir }, 'could not remove an instance directory'))
      .finally(() => this.cleanups.delete(removal));
    this.cleanups.add(removal);
  }
}

/** One run of the program, through the spawn helper, with its stderr going to the function's log. */
class Proc {
  constructor(
    readonly program: SpawnedProgram,
    readonly log: FunctionLog,
  ) {
    program.onStderr = (chunk) => log.write(chunk);
    program.onStderrEnd = () => log.end();
  }

  get pid(): number | undefined {
    return this.program.pid;
  }

  get exited(): Promise<ProgramStatus> {
    return this.program.exited;
  }

  signal(signal: NodeJS.Signals): void {
    this.program.signal(signal);
  }

  /** Passes a caller's connection to the program (see `InstanceConnections`). */
  handoff(spawner: Spawner, connection: Handoff, socket: Socket): void {
    spawner.handoff(this.program, connection, socket);
  }

  /** Asks the program to give back every direct connection once its request in flight is answered. */
  drainConnections(spawner: Spawner): void {
    spawner.tell(this.program, { type: 'drain' });
  }

  /**
   * `ready`, or why not: it exited first, or the time ran out. Without a probe port (a sandboxed
   * program: there is no port to probe), only the ready descriptor counts.
   */
  waitReady(timeoutMs: number, probePort: number | null): Promise<'ready' | 'exited' | 'timeout'> {
    const program = this.program;
    return new Promise((resolve) => {
      let settled = false;
      let probing = false;
      let retry: NodeJS.Timeout | null = null;
      const finish = (outcome: 'ready' | 'exited' | 'timeout') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(fallback);
        if (retry !== null) clearTimeout(retry);
        program.onReadiness = () => {};
        resolve(outcome);
      };
      const again = () => {
        if (!settled) retry = setTimeout(probe, PROBE_INTERVAL_MS);
      };
      const probe = () => {
        retry = null;
        if (settled) return;
        const request = httpRequest(
          { host: HOST, port: probePort ?? 0, path: '/ready', method: 'GET', agent: false, timeout: 1000 },
          (response) => {
            response.resume();
            if (response.statusCode === 200) finish('ready');
            else again();
          },
        );
        request.on('error', again);
        request.on('timeout', () => request.destroy());
        request.end();
      };
      /** Polls the readiness probe until ready (one poll at a time). */
      const startProbing = () => {
        if (settled || probing || probePort === null) return;
        probing = true;
        probe();
      };
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      // A program that does not use the ready descriptor is still found ready by its probe.
      const fallback = setTimeout(startProbing, PROBE_FALLBACK_AFTER_MS);
      const onReadiness = () => {
        if (program.readiness === 'ready') finish('ready');
        else if (program.readiness === 'closed') startProbing();
      };
      program.onReadiness = onReadiness;
      onReadiness();
      void program.exited.then(() => finish('exited'));
    });
  }
}

type State = 'new' | 'starting' | 'ready' | 'stopping' | 'exited';

/** A native program, started on demand and reached over HTTP on 127.0.0.1 with keep-alive. */
class NativeInstance implements FunctionInstance {
  readonly inFlight = new Set<string>();
  private state: State = 'new';
  private proc: Proc | null = null;
  private port = 0;
  private pool: Pool | null = null;
  private killReason: string | null = null;
  private stopRequested = false;
  private memoryExceeded = false;
  private exitListener: ((info: ExitInfo) => void) | null = null;
  private readonly logger: Logger;
  private readonly tempDir: string;
  /** The callers' connections the program serves itself (when the runner has a direct port). */
  private connections: InstanceConnections | null = null;

  constructor(
    readonly spec: InstanceSpec,
    private readonly options: NativeKindOptions,
    private readonly directHost: DirectHost | null,
    private readonly removeLater: (dir: string) => void,
  ) {
    this.logger = options.logger.child({ functionId: spec.fn.functionId, release: spec.release.number, instance: spec.id });
    this.tempDir = join(options.instancesDir, spec.id);
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListener = listener;
  }

  async start(): Promise<void> {
    const startedAt = performance.now();
    this.state = 'starting';
    try {
      const [executable] = await Promise.all([
        this.options.artifacts.executable(this.spec.release.artifactSha256),
        mkdir(this.tempDir, { recursive: true }),
      ]);
      const preparedAt = performance.now();
      // A sandboxed program has no port: it serves the listener its sandbox hands it.
      const sandboxed = this.options.sandbox !== null;
      for (let attempt = 1; ; attempt++) {
        this.assertNotKilled();
        const port = sandboxed ? 0 : this.options.ports.allocate();
        const launchedAt = performance.now();
        const proc = this.launch(executable, port);
        const spawnedAt = performance.now();
        const outcome = await proc.waitReady(this.options.startTimeoutMs, sandboxed ? null : port + 1);
        if (outcome === 'ready' && this.killReason === null) {
          const ms = (from: number, to: number) => Math.round((to - from) * 100) / 100;
          const now = performance.now();
          this.becomeReady(proc, port, {
            startMs: ms(startedAt, now),
            prepareMs: ms(startedAt, preparedAt),
            spawnMs: ms(launchedAt, spawnedAt),
            readyMs: ms(spawnedAt, now),
          });
          return;
        }
        proc.signal('SIGKILL');
        const status = await proc.exited;
        if (!sandboxed && outcome === 'exited' && this.killReason === null && attempt < PORT_ATTEMPTS) {
          if (
            status.spawnError?.code === 'ETXTBSY' ||
            (status.spawnError === undefined &&
              proc.log.lastLines().some((line) => PORT_IN_USE.test(line) || (proc.program.fromStandby && TEXT_FILE_BUSY.test(line))))
          ) {
            this.options.ports.conflict(port);
            continue;
          }
        }
        if (!sandboxed) this.options.ports.release(port);
        this.assertNotKilled();
        throw this.startFailure(outcome, status, proc);
      }
    } catch (error) {
      this.state = 'exited';
      this.removeLater(this.tempDir);
      throw error;
    }
  }

  exchange(request: ProxyRequest, sink: ResponseSink): Exchange {
    const pool = this.pool;
    let controller: Dispatcher.DispatchController | null = null;
    let pendingAbort: Error | null = null;
    let done = false;
    if (pool === null || this.state !== 'ready') {
      queueMicrotask(() => sink.error(new Error('the instance is not serving')));
      return { abort: () => {} };
    }
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (pendingAbort !== null) c.abort(pendingAbort);
      },
      onResponseStart(c, statusCode, headers) {
        if (!done) sink.start(statusCode, headers, c);
      },
      onResponseData(c, chunk) {
        if (!done && !sink.data(chunk)) c.pause();
      },
      onResponseEnd() {
        if (done) return;
        done = true;
        sink.end();
      },
      onResponseError(_c, error) {
        if (done) return;
        done = true;
        sink.error(error);
      },
    };
    try {
      pool.dispatch({ path: request.path, method: request.method, headers: request.headers, body: request.body }, handler);
    } catch (error) {
      done = true;
      queueMicrotask(() => sink.error(error instanceof Error ? error : new Error(String(error))));
    }
    return {
      abort(reason: Error) {
        if (done) return;
        done = true;
        if (controller !== null) controller.abort(reason);
        else pendingAbort = reason;
      },
    };
  }

  attach(socket: Socket, head: Buffer, lease: Lease, terms: PublicTerms | null): boolean {
    const { proc, connections } = this;
    if (this.state !== 'ready' || proc === null || connections === null) return false;
    // A program of an SDK from before public connections would answer them 421: the runner serves them.
    if (terms !== null && !connections.publicCapable) return false;
    const slot = connections.reserve(socket, head, lease, terms?.admission ?? null);
    if (slot === null) return false;
    const handoff: Handoff = { slot, head, cold: lease.cold };
    if (terms !== null) handoff.access = terms.access;
    proc.handoff(this.options.spawner, handoff, socket);
    return true;
  }

  stop(): void {
    if (this.state === 'starting') {
      this.kill('stopped before it was ready');
      return;
    }
    if (this.state !== 'ready') return;
    this.state = 'stopping';
    this.stopRequested = true;
    const proc = this.proc;
    if (proc === null) return;
    // The SDK drains on SIGTERM: in-flight requests finish, then it exits.
    proc.signal('SIGTERM');
    const grace = setTimeout(() => proc.signal('SIGKILL'), this.options.stopGraceMs);
    grace.unref();
    void proc.exited.then(() => clearTimeout(grace));
    void this.pool?.close().catch(() => {});
  }

  kill(reason: string): void {
    if (this.state === 'exited') return;
    this.killReason ??= reason;
    this.proc?.signal('SIGKILL');
  }

  private assertNotKilled(): void {
    if (this.killReason !== null) {
      throw new InvocationError(ErrorCode.unavailable, `the function's instance was stopped before it was ready (${this.killReason})`);
    }
  }

  private launch(executable: string, port: number): Proc {
    const { fn } = this.spec;
    const sandbox = this.options.sandbox;
    const env: Record<string, string> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      // glibc's default (8 arenas per core) reserves address space by the gigabyte.
      MALLOC_ARENA_MAX: '2',
      ...fn.env,
      [programEnv.readyFd]: String(READY_FD),
      [programEnv.functionId]: fn.functionId,
      [programEnv.maxBodyBytes]: String(this.options.maxBodyBytes),
      IGNITE_TEMP_DIR: sandbox === null ? this.tempDir : SANDBOX_SCRATCH,
      IGNITE_SHUTDOWN_TIMEOUT_MS: String(this.options.stopGraceMs),
    };
    if (sandbox === null) {
      env[programEnv.port] = String(port);
      env[programEnv.probePort] = String(port + 1);
      env[programEnv.host] = HOST;
    } else {
      env[programEnv.listenFd] = String(LISTEN_FD);
    }
    const host = this.directHost;
    const connections =
      host === null ? null : new InstanceConnections(this.spec, this.tempDir, this.options.maxInFlight, host, this.logger);
    if (connections !== null) {
      if (sandbox === null) env[directProgramEnv.slots] = connections.slotFile;
      else env[directProgramEnv.slotsFd] = String(SLOTS_FD);
      env[directProgramEnv.slotSpacing] = String(DIRECT_SLOT_SPACING);
      env[directProgramEnv.messagesFd] = String(MESSAGES_FD);
      env[directProgramEnv.timeLimitMs] = String(fn.timeoutMs);
      env[directProgramEnv.release] = String(this.spec.release.number);
      env[directProgramEnv.idleMs] = String(this.options.directIdleMs);
      env[directProgramEnv.public] = '1';
    }
    this.connections = connections;
    const { limitResources, addressSpaceHeadroomMb } = this.options;
    const addressSpaceBytes = addressSpaceHeadroomMb > 0 ? (fn.memoryMb + addressSpaceHeadroomMb) * MiB : null;
    const limits = limitResources && sandbox === null ? { addressSpaceBytes } : undefined;
    const log = new FunctionLog({
      logger: this.logger,
      maxLinesPerSecond: this.options.logLinesPerSecond,
      executionId: () => this.soleExecution(),
      observe: (line) => {
        if (ALLOCATION_FAILED.test(line)) this.memoryExceeded = true;
      },
    });
    const program = this.options.spawner.spawn({
      command: executable,
      args: [],
      env,
      cwd: sandbox === null ? this.tempDir : SANDBOX_SCRATCH,
      readyFd: READY_FD,
      channel: connections !== null,
      ...(limits === undefined ? {} : { limits }),
      ...(sandbox === null
        ? {}
        : {
            sandbox: {
              files: connections === null ? [] : [{ fd: SLOTS_FD, path: connections.slotFile, write: true }],
              limits: {
                memoryBytes: fn.memoryMb * MiB,
                addressSpaceBytes,
                processes: sandbox.processes,
                openFiles: sandbox.openFiles,
                fileSizeBytes: sandbox.scratchMb * MiB,
              },
            },
          }),
    });
    if (connections !== null) {
      program.onMessage = (line) => connections.message(line);
      program.onHandoffFailed = (slot) => connections.handoffFailed(slot);
      program.onOversizedMessage = () => this.kill('it wrote a message line longer than the runner reads');
    }
    const proc = new Proc(program, log);
    this.proc = proc;
    return proc;
  }

  private becomeReady(proc: Proc, port: number, timings: Record<string, number>): void {
    this.state = 'ready';
    this.port = port;
    const listener = proc.program.listener;
    this.pool = new Pool(listener === null ? `http://${HOST}:${port}` : 'http://function', {
      ...(listener === null ? {} : { socketPath: listener }),
      connections: this.options.maxInFlight,
      pipelining: 1,
      // The runner enforces the time limit itself.
      headersTimeout: 0,
      bodyTimeout: 0,
      connectTimeout: 5_000,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
    this.pool.on('connectionError', () => {});
    const pid = proc.pid;
    // A cgroup limits a sandboxed instance's memory as a whole: the kernel watches it.
    if (pid !== undefined && !this.options.sandbox?.cgroups) {
      const limitBytes = this.spec.fn.memoryMb * MiB;
      this.options.memory.watch(pid, limitBytes, (resident) => {
        this.memoryExceeded = true;
        this.logger.warn(
          { residentMb: Math.round(resident / MiB), limitMb: this.spec.fn.memoryMb },
          'instance over its memory limit: killing it',
        );
        proc.signal('SIGKILL');
      });
    }
    this.logger.info({ pid, port, standby: proc.program.fromStandby, ...timings }, 'instance ready');
    void proc.exited.then((status) => this.onProcExit(proc, status));
  }

  /**
   * No new work comes to this instance (a newer release, or one of its invocations ran out of
   * time): its direct connections go back to the runner as soon as their request in flight is
   * answered, so that the pool can stop it once nothing else is in flight.
   */
  retire(): void {
    if (this.state === 'ready' && this.connections !== null) this.proc?.drainConnections(this.options.spawner);
  }

  private onProcExit(proc: Proc, status: ProgramStatus): void {
    this.connections?.programExited();
    this.state = 'exited';
    const pid = proc.pid;
    if (pid !== undefined) this.options.memory.unwatch(pid);
    if (this.port !== 0) this.options.ports.release(this.port);
    void this.pool?.destroy().catch(() => {});
    this.removeLater(this.tempDir);
    let cause: ExitCause;
    if (this.memoryExceeded || status.outOfMemory === true) cause = 'memory';
    else if (this.killReason !== null) cause = 'killed';
    else if (this.stopRequested) cause = 'stopped';
    else cause = 'crashed';
    const info: ExitInfo = { cause, code: status.code, signal: status.signal };
    if (this.killReason !== null) info.reason = this.killReason;
    const level = cause === 'stopped' ? 'info' : 'warn';
    this.logger[level]({ cause, code: status.code, signal: status.signal, reason: info.reason }, 'instance exited');
    this.exitListener?.(info);
  }

  private startFailure(outcome: 'ready' | 'exited' | 'timeout', status: ProgramStatus, proc: Proc): InvocationError {
    if (outcome === 'timeout') {
      return new InvocationError(ErrorCode.badGateway, `the function did not become ready within ${this.options.startTimeoutMs} ms`);
    }
    if (status.spawnError !== undefined) {
      this.logger.error({ err: status.spawnError }, 'could not start the program');
      return new InvocationError(ErrorCode.internal, `the function's program could not be started (${status.spawnError.code ?? 'error'})`);
    }
    const last = proc.log.lastLines().at(-1);
    const memory = this.memoryExceeded ? ` over its memory limit of ${this.spec.fn.memoryMb} MiB` : '';
    return new InvocationError(
      ErrorCode.badGateway,
      `the function exited before it was ready${memory} (${describeExit(status.code, status.signal)})${last ? `: ${last.slice(0, 300)}` : ''}`,
    );
  }

  private soleExecution(): string | undefined {
    if (this.inFlight.size !== 1) return undefined;
    for (const id of this.inFlight) return id;
    return undefined;
  }
}
