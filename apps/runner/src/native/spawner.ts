import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { DirectAccess } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type {
  FromHelper,
  HandoffRequest,
  HelperOptions,
  ProgramPipe,
  ResourceLimits,
  SandboxStart,
  SpawnRequest,
  ToHelper,
} from './spawner-protocol';

const NEWLINE = 0x0a;
/**
 * Longest line read from a program's message pipe (a reports line of a full batch is ~256 KiB):
 * a program writing without newlines cannot grow the runner's memory; the rest of such a line is
 * dropped.
 */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** How a program ended. */
/** A caller's connection for a program: its slot, what the runner read of it, and a public connection's terms. */
export interface Handoff {
  slot: number;
  head: Buffer;
  cold: boolean;
  access?: DirectAccess;
}

export interface ProgramStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** It could not be started at all (ENOENT, EACCES…). */
  spawnError?: { code: string; message: string };
  /** The kernel killed a process of its sandbox for memory (its cgroup's limit). */
  outOfMemory?: boolean;
}

export interface ProgramSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  readyFd: number;
  /** A Node IPC channel on descriptor 4 (direct connections). */
  channel?: boolean;
  /** Resource limits (soft and hard); absent: none. */
  limits?: ResourceLimits;
  /** A sandboxed start's limits and passed files (required when the spawner sandboxes). */
  sandbox?: SandboxStart;
}

/** A standby shell's pipes, held by the runner until a program starts from it. */
type StandbyPipes = { [pipe in ProgramPipe]?: Socket };

/** A program started by the helper, as the runner sees it. */
export class SpawnedProgram {
  pid: number | undefined = undefined;
  /** A standby shell of the helper started it (no fork on the way). */
  fromStandby = false;
  /** A sandboxed program's HTTP listener on the host (a unix socket); null: it listens on its own port. */
  listener: string | null = null;
  status: ProgramStatus | null = null;
  /** `ready` written on the ready descriptor; `closed`: it closed without it. */
  readiness: 'waiting' | 'ready' | 'closed' = 'waiting';
  /** Settles once the program is gone and its stderr read to the end. */
  readonly exited: Promise<ProgramStatus>;
  onStderr: (chunk: Buffer) => void = () => {};
  onStderrEnd: () => void = () => {};
  onReadiness: () => void = () => {};
  /** A line the program wrote on its message pipe (a JSON value each, see `InstanceConnections`), without its newline. */
  onMessage: (line: Buffer) => void = () => {};
  /** A line on the message pipe was longer than `MAX_MESSAGE_BYTES` (and dropped). */
  onOversizedMessage: () => void = () => {};
  /** A connection given to `Spawner.handoff` did not reach the program (the runner's copy is still open). */
  onHandoffFailed: (slot: number) => void = () => {};
  /** @internal The spawn request went to the helper. */
  requested = false;
  /** @internal A signal asked for before that. */
  pendingSignal: NodeJS.Signals | null = null;
  private settle!: (status: ProgramStatus) => void;
  private stderr: Socket | null = null;
  private readyPipe: Socket | null = null;
  private stderrOpen = false;
  private pendingStatus: ProgramStatus | null = null;

  constructor(
    readonly id: number,
    private readonly spawner: Spawner,
  ) {
    this.exited = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  /** Signals the program's whole process group; a no-op once it is gone. */
  signal(signal: NodeJS.Signals): void {
    if (this.status === null && this.pendingStatus === null) this.spawner.signal(this, signal);
  }

  /** @internal */
  receive(message: FromHelper, handle: unknown): void {
    switch (message.type) {
      case 'spawned':
        this.pid = message.pid;
        this.listener = message.listener ?? null;
        if (message.standby !== undefined) {
          this.fromStandby = true;
          for (const [pipe, socket] of Object.entries(this.spawner.takeStandbyPipes(message.standby))) {
            this.attach(pipe as ProgramPipe, socket);
          }
        }
        return;
      case 'pipe':
        if (handle instanceof Socket) this.attach(message.pipe, handle);
        return;
      case 'handoff-failed':
        this.onHandoffFailed(message.slot);
        return;
      case 'exit': {
        const status: ProgramStatus = { code: message.code, signal: message.signal };
        if (message.spawnError !== undefined) status.spawnError = message.spawnError;
        if (message.outOfMemory === true) status.outOfMemory = true;
        this.exit(status);
        return;
      }
    }
  }

  /** @internal The process is gone; the status is final once its stderr is read (or a moment later). */
  exit(status: ProgramStatus): void {
    if (this.status !== null || this.pendingStatus !== null) return;
    if (!this.stderrOpen) {
      this.end(status);
      return;
    }
    this.pendingStatus = status;
    // A descendant that escaped the process group may hold stderr open.
    setTimeout(() => {
      this.stderr?.destroy();
      this.end(status);
    }, 1000).unref();
  }

  private end(status: ProgramStatus): void {
    if (this.status !== null) return;
    this.status = status;
    // (A descendant that escaped the process group may hold it open.)
    this.readyPipe?.destroy();
    this.settle(status);
  }

  private attach(pipe: ProgramPipe, socket: Socket): void {
    if (pipe === 'stderr') this.attachStderr(socket);
    else if (pipe === 'ready') this.attachReady(socket);
    else this.attachMessages(socket);
  }

  /**
   * The ready descriptor's read end: `ready` on it means the program listens; its end, or more
   * than a few bytes of anything else, means it does not use the descriptor (it is probed then).
   * Read to its end whatever comes after: a closed read end would fail the program's writes.
   */
  private attachReady(socket: Socket): void {
    this.readyPipe = socket;
    socket.on('error', () => {});
    let said = '';
    const settle = (readiness: 'ready' | 'closed') => {
      if (this.readiness !== 'waiting') return;
      this.readiness = readiness;
      this.onReadiness();
    };
    socket.on('data', (chunk: Buffer) => {
      if (this.readiness !== 'waiting') return;
      said += chunk.toString('latin1');
      if (said.includes('ready')) settle('ready');
      else if (said.length > 64) settle('closed');
    });
    socket.on('end', () => settle('closed'));
  }

  /**
   * The program's message pipe: one JSON value per line. Lines stay bytes (most are reports the
   * runner records without reading them: decoding them to text and back would cost more).
   */
  private attachMessages(socket: Socket): void {
    socket.on('error', () => {});
    let partial: Buffer[] = [];
    let partialBytes = 0;
    /** Inside a line over the limit: everything up to its newline is dropped. */
    let skipping = false;
    socket.on('data', (chunk: Buffer) => {
      let start = 0;
      for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
        const piece = chunk.subarray(start, end);
        if (skipping) skipping = false;
        else if (partial.length === 0) this.onMessage(piece);
        else if (partialBytes + piece.length <= MAX_MESSAGE_BYTES) {
          partial.push(piece);
          this.onMessage(Buffer.concat(partial));
        } else this.onOversizedMessage();
        partial = [];
        partialBytes = 0;
        start = end + 1;
      }
      if (start < chunk.length && !skipping) {
        partialBytes += chunk.length - start;
        if (partialBytes > MAX_MESSAGE_BYTES) {
          partial = [];
          partialBytes = 0;
          skipping = true;
          this.onOversizedMessage();
        } else partial.push(chunk.subarray(start));
      }
    });
  }

  private attachStderr(socket: Socket): void {
    this.stderr = socket;
    this.stderrOpen = true;
    socket.on('data', (chunk: Buffer) => this.onStderr(chunk));
    socket.on('error', () => {});
    socket.once('close', () => {
      this.stderrOpen = false;
      this.onStderrEnd();
      if (this.pendingStatus !== null) this.end(this.pendingStatus);
    });
  }
}

/**
 * Starts programs through the spawn helper (`spawner-main.cts`): a fork of the runner itself
 * would cost milliseconds per start, blocking the event loop, growing with the runner's memory.
 * If the helper dies, the programs it started are killed (their stderr went with it) and a new
 * helper takes over.
 */
export class Spawner {
  private helper: ChildProcess | null = null;
  private helperUp: Promise<void> | null = null;
  private readonly programs = new Map<number, SpawnedProgram>();
  /** The pipes of the helper's standby shells, by standby number, until a program starts from one. */
  private readonly standbyPipes = new Map<number, StandbyPipes>();
  private nextId = 1;
  private closed = false;
  private restarts = 0;

  constructor(
    private readonly logger: Logger,
    private readonly options: HelperOptions = { prlimitPath: null, standbyShell: null, sandbox: null },
  ) {}

  /** Starts the helper; resolves once it runs. */
  start(): Promise<void> {
    this.helperUp ??= this.launch();
    return this.helperUp;
  }

  spawn(spec: ProgramSpec): SpawnedProgram {
    const program = new SpawnedProgram(this.nextId++, this);
    if (this.closed) {
      program.exit({ code: null, signal: null, spawnError: { code: 'ESHUTDOWN', message: 'the runner is stopping' } });
      return program;
    }
    this.programs.set(program.id, program);
    void program.exited.then(() => this.programs.delete(program.id));
    const request: SpawnRequest = { type: 'spawn', id: program.id, ...spec };
    const sendRequest = () => {
      this.send(request, program);
      program.requested = true;
      // A signal that came before the request went out follows it.
      if (program.pendingSignal !== null) this.send({ type: 'signal', id: program.id, signal: program.pendingSignal }, program);
    };
    if (this.helper?.connected) sendRequest();
    else
      this.start().then(sendRequest, (error: unknown) =>
        program.exit({ code: null, signal: null, spawnError: { code: 'EHELPER', message: String(error) } }),
      );
    return program;
  }

  signal(program: SpawnedProgram, signal: NodeJS.Signals): void {
    if (!program.requested) {
      // SIGKILL wins over SIGTERM.
      if (program.pendingSignal !== 'SIGKILL') program.pendingSignal = signal;
      return;
    }
    this.send({ type: 'signal', id: program.id, signal }, program);
  }

  /**
   * Passes a caller's connection to the program's channel (through the helper), as slot `slot`
   * with the bytes already read of it. The runner keeps its own copy of the socket: it can answer
   * for the program if the program dies, and take the connection back.
   */
  handoff(program: SpawnedProgram, connection: Handoff, socket: Socket): void {
    const helper = this.helper;
    if (helper === null || !helper.connected || !program.requested || program.status !== null) {
      queueMicrotask(() => program.onHandoffFailed(connection.slot));
      return;
    }
    const message: HandoffRequest = {
      type: 'handoff',
      id: program.id,
      slot: connection.slot,
      head: connection.head.toString('base64'),
      cold: connection.cold,
    };
    if (connection.access !== undefined) message.access = connection.access;
    helper.send(message, socket, { keepOpen: true }, (error: Error | null) => {
      if (error !== null) program.onHandoffFailed(connection.slot);
    });
  }

  /** @internal The pipes of the standby a program started from (its `spawned` message names it). */
  takeStandbyPipes(standby: number): StandbyPipes {
    const pipes = this.standbyPipes.get(standby) ?? {};
    this.standbyPipes.delete(standby);
    return pipes;
  }

  private keepStandbyPipe(standby: number, pipe: ProgramPipe, handle: unknown): void {
    if (!(handle instanceof Socket)) return;
    handle.on('error', () => {});
    const pipes = this.standbyPipes.get(standby) ?? {};
    pipes[pipe] = handle;
    this.standbyPipes.set(standby, pipes);
  }

  private closeStandbyPipes(standby: number): void {
    for (const pipe of Object.values(this.takeStandbyPipes(standby))) pipe.destroy();
  }

  /** Writes `message` on the program's channel (a program started with `channel`). */
  tell(program: SpawnedProgram, message: unknown): void {
    if (program.requested && program.status === null) this.send({ type: 'tell', id: program.id, message }, program);
  }

  /** Stops the helper (which kills whatever it still runs). */
  async close(): Promise<void> {
    this.closed = true;
    const helper = this.helper;
    if (helper === null || helper.exitCode !== null || helper.signalCode !== null) return;
    const gone = new Promise((resolve) => helper.once('exit', resolve));
    helper.disconnect();
    await gone;
  }

  private send(message: ToHelper, program: SpawnedProgram): void {
    const helper = this.helper;
    if (helper === null || !helper.connected) {
      if (message.type === 'spawn') {
        program.exit({ code: null, signal: null, spawnError: { code: 'EHELPER', message: 'the spawn helper is not running' } });
      }
      return;
    }
    helper.send(message, (error: Error | null) => {
      if (error !== null && message.type === 'spawn') {
        program.exit({ code: null, signal: null, spawnError: { code: 'EHELPER', message: error.message } });
      }
    });
  }

  private launch(): Promise<void> {
    // Compiled: spawner-main.cjs beside this file; from the sources (tests): the .cts, run by Node as is.
    const compiled = join(__dirname, 'spawner-main.cjs');
    const script = existsSync(compiled) ? compiled : join(__dirname, 'spawner-main.cts');
    const helper = fork(script, [JSON.stringify(this.options)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // A small heap: a fork copies the helper's memory mappings, so the smaller the faster.
      execArgv: ['--no-warnings', '--max-old-space-size=64', '--max-semi-space-size=1'],
      env: {},
      serialization: 'json',
    });
    this.helper = helper;
    helper.on('message', (message: FromHelper, handle: unknown) => {
      if (message.type === 'standby-pipe') this.keepStandbyPipe(message.standby, message.pipe, handle);
      else if (message.type === 'standby-gone') this.closeStandbyPipes(message.standby);
      else this.programs.get(message.id)?.receive(message, handle);
    });
    helper.on('error', (error) => this.logger.error({ err: error }, 'spawn helper error'));
    helper.once('exit', (code, signal) => this.helperExited(helper, code, signal));
    return new Promise((resolve, reject) => {
      helper.once('spawn', () => resolve());
      helper.once('error', reject);
    });
  }

  private helperExited(helper: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.helper !== helper) return;
    this.helper = null;
    this.helperUp = null;
    // What it started cannot be followed any more (their stderr was its pipe): stop it all.
    for (const program of this.programs.values()) {
      if (program.pid !== undefined) {
        // A forked program leads its process group; a sandboxed one is in its launcher's (which
        // dies with the helper: its parent-death signal).
        for (const target of [-program.pid, program.pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // ESRCH
          }
        }
        program.exit({ code: null, signal: 'SIGKILL' });
      } else {
        program.exit({ code: null, signal: null, spawnError: { code: 'EHELPER', message: 'the spawn helper exited' } });
      }
    }
    this.programs.clear();
    for (const standby of [...this.standbyPipes.keys()]) this.closeStandbyPipes(standby);
    if (this.closed) return;
    this.restarts++;
    this.logger.error({ code, signal, restarts: this.restarts }, 'the spawn helper exited: starting a new one');
    const delay = Math.min(1000, 50 * this.restarts);
    setTimeout(() => {
      if (!this.closed) this.start().catch((error: unknown) => this.logger.error({ err: error }, 'could not start the spawn helper'));
    }, delay).unref();
  }
}
