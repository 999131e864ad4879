import { mkdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { DIRECT_SLOT_SPACING, directProgramEnv, ErrorCode } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import { type Dispatcher, Pool } from 'undici';
import type { PublicTerms } from '../direct/direct-server';
import { type DirectHost, InstanceConnections } from '../direct/instance-connections';
import { InvocationError } from '../errors';
import { describeExit } from '../exit-failure';
import type { Exchange, ExitCause, ExitInfo, FunctionInstance, InstanceSpec, ProxyRequest, ResponseSink } from '../instance';
import { FunctionLog, type FunctionLogOptions } from '../logs/function-log';
import { type FunctionLogSink, LogSource } from '../logs/log-sink';
import type { Lease } from '../pool';
import type { MemoryWatcher } from './memory-watch';
import type { PortAllocator } from './ports';
import type { Handoff, ProgramSpec, ProgramStatus, SpawnedProgram, Spawner } from './spawner';
import type { PassedFile } from './spawner-protocol';

const MiB = 1024 * 1024;
export const HOST = '127.0.0.1';
/** The descriptor the program writes `ready\n` to (stdin, stdout, stderr, then this pipe). */
export const READY_FD = 3;
/** Without a word on the ready descriptor by then, the readiness probe is polled as well. */
const PROBE_FALLBACK_AFTER_MS = 250;
const PROBE_INTERVAL_MS = 20;
/** How often a start is retried when another process holds the ports it was given. */
const PORT_ATTEMPTS = 4;
const PORT_IN_USE = /could not listen|address already in use|AddrInUse|EADDRINUSE/i;
/** A standby shell's word for ETXTBSY (the executable still open for writing somewhere): worth another try. */
const TEXT_FILE_BUSY = /^\S+: \d+: exec: .*: Text file busy$/;

/** Where a sandboxed program finds its scratch directory. */
export const SANDBOX_SCRATCH = '/scratch';
/** A sandboxed program's HTTP listener (`IGNITE_LISTEN_FD`), bound by its sandbox. */
export const LISTEN_FD = 6;
/** Direct connections: the program's message pipe (after the channel, 4; see `spawner-protocol.ts`). */
const MESSAGES_FD = 5;

/** How a launch takes callers' connections from the direct port (see `ProgramInstance.serveConnections`). */
export interface DirectLaunch {
  host: DirectHost;
  /** The descriptor a sandboxed program gets the slot file on (`IGNITE_DIRECT_SLOTS_FD`). */
  slotsFd: number;
  /** An idle connection goes back to the runner after this many ms (`IGNITE_DIRECT_IDLE_MS`). */
  idleMs: number;
}

/** What every kind of program instance is started with (see `NativeKind` and `WasmKind`). */
export interface ProgramKindOptions {
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
  /** Where the functions' log lines go for their owners. */
  logSink: FunctionLogSink;
  /** Programs start in a sandbox of their own (see apps/runner/sandbox); null: as plain processes (trusted code only). */
  sandbox: ProgramSandbox | null;
}

/** How a sandboxed instance is limited. */
export interface ProgramSandbox {
  /** Each instance has a cgroup (the kernel limits its memory as a whole; no resident-memory watch). */
  cgroups: boolean;
  processes: number;
  openFiles: number;
  /** The scratch directory's size, also the largest file a process may write. */
  scratchMb: number;
}

/** One launch of an instance's program, as its kind describes it. */
export interface Launch {
  command: string;
  args: string[];
  /** The whole environment (the instance adds nothing). */
  env: Record<string, string>;
  /** A Node IPC channel on descriptor 4 and a message pipe on 5 (direct connections). */
  channel: boolean;
  /** Host files a sandboxed program gets as descriptors (7 and up). */
  files: PassedFile[];
  /** RLIMIT_AS of the program; null: none. */
  addressSpaceBytes: number | null;
}

/** One run of the program, through the spawn helper, with its stderr going to the function's log. */
export class Proc {
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

  /**
   * `ready`, or why not: it exited first, or the time ran out. Without a probe port (a sandboxed
   * program: there is no port to probe; a program that always says `ready`), only the ready
   * descriptor counts.
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

/**
 * A program serving HTTP, started on demand through the spawn helper (in a sandbox of its own,
 * or as a plain process with `RUNNER_SANDBOX=none`) and reached over HTTP with keep-alive: on the
 * unix socket its sandbox listens on, or on 127.0.0.1 and a port of its own. What both kinds of
 * instance share — a native function's program (`NativeInstance`) and the wasm host serving a
 * component (`WasmHostInstance`): the start with its retries and readiness, the exchanges, the
 * memory watch where no cgroup limits it, the stop, the kill and why it exited. A kind says what
 * to launch and adds what is its own (how its stderr reads); both take callers' connections from
 * the direct port the same way (`serveConnections`).
 */
export abstract class ProgramInstance<Prepared> implements FunctionInstance {
  readonly inFlight = new Set<string>();
  protected state: State = 'new';
  protected proc: Proc | null = null;
  private port = 0;
  private pool: Pool | null = null;
  private killReason: string | null = null;
  private stopRequested = false;
  /** Set by a kind that learns from the program that it ran out of memory. */
  protected memoryExceeded = false;
  private exitListener: ((info: ExitInfo) => void) | null = null;
  /** The callers' connections the program serves itself (when its launch takes them: `serveConnections`). */
  private connections: InstanceConnections | null = null;
  protected readonly logger: Logger;
  protected readonly tempDir: string;

  constructor(
    readonly spec: InstanceSpec,
    protected readonly options: ProgramKindOptions,
    private readonly removeLater: (dir: string) => void,
  ) {
    this.logger = options.logger.child({ functionId: spec.fn.functionId, release: spec.release.number, instance: spec.id });
    this.tempDir = join(options.instancesDir, spec.id);
  }

  /** What the program needs before it can start (a verified local copy of its artifact, say). */
  protected abstract prepare(): Promise<Prepared>;

  /** The launch of the program; `port` is 0 for a sandboxed program (it serves its sandbox's listener). */
  protected abstract launchOf(prepared: Prepared, port: number): Launch;

  /** The port probed when the program says nothing on its ready descriptor; null: only the descriptor counts. */
  protected abstract probePortOf(port: number): number | null;

  /** The whole program's memory limit (its cgroup, or the resident-memory watch). */
  protected abstract memoryLimitBytes(): number;

  /** How its stderr is read, beyond lines and rate (see `FunctionLog`). */
  protected logOptions(): Partial<FunctionLogOptions> {
    return {};
  }

  onExit(listener: (info: ExitInfo) => void): void {
    this.exitListener = listener;
  }

  async start(): Promise<void> {
    const startedAt = performance.now();
    this.state = 'starting';
    try {
      const [prepared] = await Promise.all([this.prepare(), mkdir(this.tempDir, { recursive: true })]);
      const preparedAt = performance.now();
      // A sandboxed program has no port: it serves the listener its sandbox hands it.
      const sandboxed = this.options.sandbox !== null;
      for (let attempt = 1; ; attempt++) {
        this.assertNotKilled();
        const port = sandboxed ? 0 : this.options.ports.allocate();
        const launchedAt = performance.now();
        const proc = this.launch(prepared, port);
        const spawnedAt = performance.now();
        const outcome = await proc.waitReady(this.options.startTimeoutMs, sandboxed ? null : this.probePortOf(port));
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
    // The SDK's serve loop and the wasm host drain on SIGTERM: in-flight requests finish, then it exits.
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

  /**
   * Makes the launch being described take callers' connections from the direct port, as the
   * SDK's native programs and the wasm host both do (the same protocol: a Node IPC channel on 4
   * and a message pipe on 5 — the launch's `channel` — the shared slot file, the variables of
   * `directProgramEnv`). Adds those variables to `env`; returns the slot file, which a sandboxed
   * program gets as `direct.slotsFd` (put it in the launch's `files`).
   */
  protected serveConnections(direct: DirectLaunch, env: Record<string, string>): PassedFile {
    const connections = new InstanceConnections(this.spec, this.tempDir, this.options.maxInFlight, direct.host, this.logger);
    if (this.options.sandbox === null) env[directProgramEnv.slots] = connections.slotFile;
    else env[directProgramEnv.slotsFd] = String(direct.slotsFd);
    env[directProgramEnv.slotSpacing] = String(DIRECT_SLOT_SPACING);
    env[directProgramEnv.messagesFd] = String(MESSAGES_FD);
    env[directProgramEnv.timeLimitMs] = String(this.spec.fn.timeoutMs);
    env[directProgramEnv.release] = String(this.spec.release.number);
    env[directProgramEnv.idleMs] = String(direct.idleMs);
    env[directProgramEnv.public] = '1';
    this.connections = connections;
    return { fd: direct.slotsFd, path: connections.slotFile, write: true };
  }

  /**
   * Takes a caller's connection (the direct port's `DirectTarget`): true once it is passed to the
   * program, false when the runner must serve it (no direct connections, not ready, no slot
   * free, or a public connection and a program that cannot serve one).
   */
  attach(socket: Socket, head: Buffer, lease: Lease, terms: PublicTerms | null): boolean {
    const { proc, connections } = this;
    if (this.state !== 'ready' || proc === null || connections === null) return false;
    // A program of an SDK from before public connections would answer them 421: the runner serves them.
    if (terms !== null && !connections.publicCapable) return false;
    const slot = connections.reserve(socket, head, lease, terms?.admission ?? null);
    if (slot === null) return false;
    const handoff: Handoff = { slot, head, cold: lease.cold };
    if (terms !== null) handoff.access = terms.access;
    // Passes a caller's connection to the program (see `InstanceConnections`).
    this.options.spawner.handoff(proc.program, handoff, socket);
    return true;
  }

  /**
   * No new work comes to this instance (a newer release, or one of its invocations ran out of
   * time): its direct connections go back to the runner as soon as their request in flight is
   * answered, so that the pool can stop it once nothing else is in flight.
   */
  retire(): void {
    // Asks the program to give back every direct connection once its request in flight is answered.
    if (this.state === 'ready' && this.connections !== null && this.proc !== null) {
      this.options.spawner.tell(this.proc.program, { type: 'drain' });
    }
  }

  /** The program's host pid while it runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private assertNotKilled(): void {
    if (this.killReason !== null) {
      throw new InvocationError(ErrorCode.unavailable, `the function's instance was stopped before it was ready (${this.killReason})`);
    }
  }

  private launch(prepared: Prepared, port: number): Proc {
    const launch = this.launchOf(prepared, port);
    const sandbox = this.options.sandbox;
    const limits = this.options.limitResources && sandbox === null ? { addressSpaceBytes: launch.addressSpaceBytes } : undefined;
    const log = new FunctionLog({
      logger: this.logger,
      sink: this.options.logSink,
      source: new LogSource(this.spec.fn.appId, this.spec.release.id, this.spec.id),
      maxLinesPerSecond: this.options.logLinesPerSecond,
      executionId: () => this.soleExecution(),
      ...this.logOptions(),
    });
    const spec: ProgramSpec = {
      command: launch.command,
      args: launch.args,
      env: launch.env,
      cwd: sandbox === null ? this.tempDir : SANDBOX_SCRATCH,
      readyFd: READY_FD,
      channel: launch.channel,
      ...(limits === undefined ? {} : { limits }),
    };
    if (sandbox !== null) {
      spec.sandbox = {
        files: launch.files,
        limits: {
          memoryBytes: this.memoryLimitBytes(),
          addressSpaceBytes: launch.addressSpaceBytes,
          processes: sandbox.processes,
          openFiles: sandbox.openFiles,
          fileSizeBytes: sandbox.scratchMb * MiB,
        },
      };
    }
    const program = this.options.spawner.spawn(spec);
    const connections = this.connections;
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
      const limitBytes = this.memoryLimitBytes();
      this.options.memory.watch(pid, limitBytes, (resident) => {
        this.memoryExceeded = true;
        this.logger.warn(
          { residentMb: Math.round(resident / MiB), limitMb: Math.round(limitBytes / MiB) },
          'instance over its memory limit: killing it',
        );
        proc.signal('SIGKILL');
      });
    }
    this.logger.info({ pid, port, standby: proc.program.fromStandby, ...timings }, 'instance ready');
    void proc.exited.then((status) => this.onProcExit(proc, status));
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
    if (cause !== 'stopped') proc.log.platform(this.exitLine(cause, status, info.reason));
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
    const last = this.lastWords(proc.log.lastLines());
    const memory = this.memoryExceeded ? ` over its memory limit of ${this.spec.fn.memoryMb} MiB` : '';
    return new InvocationError(
      ErrorCode.badGateway,
      `the function exited before it was ready${memory} (${describeExit(status.code, status.signal)})${last ? `: ${last.slice(0, 300)}` : ''}`,
    );
  }

  /** What the program said last, for a start failure's message. */
  protected lastWords(lines: readonly string[]): string | undefined {
    return lines.at(-1);
  }

  /** The function's log's word on an instance that did not stop of its own accord. */
  private exitLine(cause: ExitCause, status: ProgramStatus, reason: string | undefined): string {
    const how = describeExit(status.code, status.signal);
    if (cause === 'memory')
      return `the instance exceeded its memory limit of ${Math.round(this.memoryLimitBytes() / MiB)} MiB and was stopped (${how})`;
    if (cause === 'killed') return `the instance was stopped: ${reason ?? 'by the runner'} (${how})`;
    return `the instance exited unexpectedly (${how})`;
  }

  private soleExecution(): string | undefined {
    if (this.inFlight.size !== 1) return undefined;
    for (const id of this.inFlight) return id;
    return undefined;
  }
}

/** Removes gone instances' scratch directories off the start path, and says when all are removed. */
export class ScratchCleanup {
  private readonly cleanups = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  readonly removeLater = (dir: string): void => {
    const removal = rm(dir, { recursive: true, force: true })
      .catch((error: unknown) => this.logger.warn({ err: error, dir }, 'could not remove an instance directory'))
      .finally(() => this.cleanups.delete(removal));
    this.cleanups.add(removal);
  };

  async settled(): Promise<void> {
    while (this.cleanups.size > 0) await Promise.all(this.cleanups);
  }
}
