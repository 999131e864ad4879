import type { Socket } from 'node:net';
import { DIRECT_SLOT_SPACING, directProgramEnv, programEnv } from '@ignite/contracts';
import type { ArtifactCache } from '../artifacts';
import type { PublicTerms } from '../direct/direct-server';
import { type DirectHost, InstanceConnections } from '../direct/instance-connections';
import type { FunctionLogOptions } from '../function-log';
import type { FunctionInstance, InstanceKind, InstanceSpec } from '../instance';
import type { Lease } from '../pool';
import {
  HOST,
  type Launch,
  LISTEN_FD,
  ProgramInstance,
  type ProgramKindOptions,
  type ProgramSandbox,
  READY_FD,
  SANDBOX_SCRATCH,
  ScratchCleanup,
} from './program-instance';
import type { Handoff, SpawnedProgram } from './spawner';

const MiB = 1024 * 1024;
/** Direct connections: the program's message pipe (after the channel, 4; see `spawner-protocol.ts`). */
const MESSAGES_FD = 5;
/** Rust's message when an allocation fails (as it does under the address-space limit). */
const ALLOCATION_FAILED = /^memory allocation of \d+ bytes failed/;
/** A sandboxed program's slot file (`IGNITE_DIRECT_SLOTS_FD`). */
const SLOTS_FD = 7;

export interface NativeKindOptions extends ProgramKindOptions {
  artifacts: ArtifactCache;
  /** Direct connections: an idle one goes back to the runner after this many ms. */
  directIdleMs: number;
  /** The runner's largest request body, the program's too (`IGNITE_MAX_BODY_BYTES`). */
  maxBodyBytes: number;
}

/** How a sandboxed native instance is limited. */
export type NativeSandbox = ProgramSandbox;

/** Native artifacts: Linux programs built with the SDK, serving HTTP on their own port. */
export class NativeKind implements InstanceKind {
  readonly target = 'native' as const;
  private readonly cleanup: ScratchCleanup;
  /** Set when the runner has a direct port: programs then get a channel to take connections on. */
  private directHost: DirectHost | null = null;

  constructor(private readonly options: NativeKindOptions) {
    this.cleanup = new ScratchCleanup(options.logger);
  }

  create(spec: InstanceSpec): FunctionInstance {
    return new NativeInstance(spec, this.options, this.directHost, this.cleanup.removeLater);
  }

  /** Instances started from now on can take callers' connections from `host`. */
  serveDirect(host: DirectHost): void {
    this.directHost = host;
  }

  /** Resolves once the scratch directories of gone instances are removed. */
  settled(): Promise<void> {
    return this.cleanup.settled();
  }
}

/** A native program, started on demand and reached over HTTP with keep-alive; on the direct port it serves callers' connections itself. */
class NativeInstance extends ProgramInstance<string> {
  /** The callers' connections the program serves itself (when the runner has a direct port). */
  private connections: InstanceConnections | null = null;

  constructor(
    spec: InstanceSpec,
    private readonly native: NativeKindOptions,
    private readonly directHost: DirectHost | null,
    removeLater: (dir: string) => void,
  ) {
    super(spec, native, removeLater);
  }

  protected prepare(): Promise<string> {
    return this.native.artifacts.executable(this.spec.release.artifactSha256);
  }

  protected probePortOf(port: number): number {
    return port + 1;
  }

  protected memoryLimitBytes(): number {
    return this.spec.fn.memoryMb * MiB;
  }

  protected launchOf(executable: string, port: number): Launch {
    const { fn } = this.spec;
    const sandbox = this.options.sandbox;
    const env: Record<string, string> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      // glibc's default (8 arenas per core) reserves address space by the gigabyte.
      MALLOC_ARENA_MAX: '2',
      ...fn.env,
      [programEnv.readyFd]: String(READY_FD),
      [programEnv.functionId]: fn.functionId,
      [programEnv.maxBodyBytes]: String(this.native.maxBodyBytes),
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
      env[directProgramEnv.idleMs] = String(this.native.directIdleMs);
      env[directProgramEnv.public] = '1';
    }
    this.connections = connections;
    const headroom = this.options.addressSpaceHeadroomMb;
    return {
      command: executable,
      args: [],
      env,
      channel: connections !== null,
      files: connections === null ? [] : [{ fd: SLOTS_FD, path: connections.slotFile, write: true }],
      addressSpaceBytes: headroom > 0 ? (fn.memoryMb + headroom) * MiB : null,
    };
  }

  protected override logOptions(): Partial<FunctionLogOptions> {
    return {
      observe: (line) => {
        if (ALLOCATION_FAILED.test(line)) this.memoryExceeded = true;
      },
    };
  }

  protected override spawned(program: SpawnedProgram): void {
    const connections = this.connections;
    if (connections === null) return;
    program.onMessage = (line) => connections.message(line);
    program.onHandoffFailed = (slot) => connections.handoffFailed(slot);
    program.onOversizedMessage = () => this.kill('it wrote a message line longer than the runner reads');
  }

  protected override programExited(): void {
    this.connections?.programExited();
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
}
