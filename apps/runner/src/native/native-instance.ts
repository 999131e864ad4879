import { programEnv } from '@ignite/contracts';
import type { ArtifactCache } from '../artifacts';
import type { DirectHost } from '../direct/instance-connections';
import type { FunctionInstance, InstanceKind, InstanceSpec } from '../instance';
import type { FunctionLogOptions } from '../logs/function-log';
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

const MiB = 1024 * 1024;
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
    const slots = host === null ? null : this.serveConnections({ host, slotsFd: SLOTS_FD, idleMs: this.native.directIdleMs }, env);
    const headroom = this.options.addressSpaceHeadroomMb;
    return {
      command: executable,
      args: [],
      env,
      channel: slots !== null,
      files: slots === null ? [] : [slots],
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
}
