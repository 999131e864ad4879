import { resolve } from 'node:path';
import { directProgramEnv, WASM_HOST_PREFIX, wasmHostEnv } from '@ignite/contracts';
import type { DirectHost } from '../direct/instance-connections';
import type { FunctionInstance, InstanceKind, InstanceSpec } from '../instance';
import type { FunctionLogOptions } from '../logs/function-log';
import {
  HOST,
  type Launch,
  LISTEN_FD,
  ProgramInstance,
  type ProgramKindOptions,
  READY_FD,
  SANDBOX_SCRATCH,
  ScratchCleanup,
} from '../native/program-instance';
import type { ResolvedFunction } from '../release-resolver';
import { attributeHostLine, hostStartError } from './host-log';
import type { PrecompiledComponents } from './precompiled';

const MiB = 1024 * 1024;
/** Where provisioning puts the host (`apps/runner/dist`, from `src/wasm` or `dist/wasm`). */
export const DEFAULT_WASM_HOST = resolve(__dirname, '..', '..', 'dist', 'ignite-wasm-host');
/** A sandboxed host's precompiled component (`IGNITE_COMPONENT_FD`). */
const COMPONENT_FD = 7;
/** A sandboxed host's slot file of direct connections (`IGNITE_DIRECT_SLOTS_FD`; 7 is the component). */
const SLOTS_FD = 8;
/**
 * The host answers 504 at the time limit itself (its epoch ticks every 5 ms) and keeps serving;
 * the runner's timer fires this much later, for a host that did not (then the host is killed).
 */
const TIME_LIMIT_BACKSTOP_MS = 2_000;
/** Variables that are the host's: an app's env never sets them (every other one is the guest's). */
const HOST_VARIABLES = new Set<string>([...Object.values(wasmHostEnv), ...Object.values(directProgramEnv)]);
/** What Node tells a child about its IPC channel (the direct connections' channel): the host's too. */
const NODE_CHANNEL_PREFIX = 'NODE_CHANNEL_';

export interface WasmKindOptions extends ProgramKindOptions {
  /** `ignite-wasm-host` (apps/runner/dist, built by provisioning). */
  host: string;
  precompiled: PrecompiledComponents;
  /**
   * The host process's own memory on top of the function's limit: its cgroup's limit (or the
   * resident-memory watch where there is no cgroup) is the function's limit plus this.
   */
  hostMemoryMb: number;
  /** Direct connections: an idle one goes back to the runner after this many ms. */
  directIdleMs: number;
  /** The runner's largest request body (`IGNITE_MAX_BODY_BYTES`: a public connection's request the host gives back). */
  maxBodyBytes: number;
}

/**
 * wasm artifacts: `wasm32-wasip2` components of the `wasi:http/proxy` world, served by the wasm
 * host (`ignite-wasm-host serve`, apps/runner/wasm-host: Wasmtime, a fresh component instance per
 * request from a pooling allocator). An instance of this kind is one host process serving one
 * release, started exactly like a native program: the same spawn helper and sandbox, its
 * listener on descriptor 6, readiness on 3, the precompiled component passed as descriptor 7.
 *
 * One host serves many requests at once (each its own component instance, `maxInFlight` of them),
 * so a release needs one host, not one per request in flight. The function's time limit and
 * memory limit are the host's, per request: past the time limit the host answers 504 and goes on
 * serving; a guest growing past the memory limit traps and the host answers the memory JSON.
 */
export class WasmKind implements InstanceKind {
  readonly target = 'wasm' as const;
  readonly maxInFlight: number;
  private readonly cleanup: ScratchCleanup;
  /** Set when the runner has a direct port: hosts then get a channel to take connections on. */
  private directHost: DirectHost | null = null;

  constructor(private readonly options: WasmKindOptions) {
    this.maxInFlight = options.maxInFlight;
    this.cleanup = new ScratchCleanup(options.logger);
  }

  create(spec: InstanceSpec): FunctionInstance {
    return new WasmHostInstance(spec, this.options, this.directHost, this.cleanup.removeLater);
  }

  /** Hosts started from now on take callers' connections from `host`, as native programs do. */
  serveDirect(host: DirectHost): void {
    this.directHost = host;
  }

  /** Gets a release's precompiled component ready ahead of its first invocation (on a release announcement). */
  async prepare(fn: ResolvedFunction): Promise<void> {
    if (fn.release?.target === 'wasm') await this.options.precompiled.file(fn.release.artifactSha256);
  }

  /** Resolves once the scratch directories of gone hosts are removed. */
  settled(): Promise<void> {
    return this.cleanup.settled();
  }
}

/** One `ignite-wasm-host serve` process serving one release. */
class WasmHostInstance extends ProgramInstance<string> {
  readonly ownTimeLimitGraceMs = TIME_LIMIT_BACKSTOP_MS;

  constructor(
    spec: InstanceSpec,
    private readonly wasm: WasmKindOptions,
    private readonly directHost: DirectHost | null,
    removeLater: (dir: string) => void,
  ) {
    super(spec, wasm, removeLater);
  }

  protected prepare(): Promise<string> {
    return this.wasm.precompiled.file(this.spec.release.artifactSha256);
  }

  /** The host always says `ready` (after its own readiness probe of the component): no port to poll. */
  protected probePortOf(): null {
    return null;
  }

  protected memoryLimitBytes(): number {
    return (this.spec.fn.memoryMb + this.wasm.hostMemoryMb) * MiB;
  }

  protected launchOf(precompiled: string, port: number): Launch {
    const { fn, release } = this.spec;
    const sandboxed = this.options.sandbox !== null;
    const env: Record<string, string> = {
      // As a native program has them; the guest sees them too (every variable not the host's is the guest's).
      PATH: '/usr/local/bin:/usr/bin:/bin',
      MALLOC_ARENA_MAX: '2',
    };
    for (const [name, value] of Object.entries(fn.env)) {
      if (!HOST_VARIABLES.has(name) && !name.startsWith(WASM_HOST_PREFIX) && !name.startsWith(NODE_CHANNEL_PREFIX)) env[name] = value;
    }
    Object.assign(env, {
      [wasmHostEnv.readyFd]: String(READY_FD),
      [wasmHostEnv.functionId]: fn.functionId,
      [wasmHostEnv.release]: String(release.number),
      [wasmHostEnv.timeLimitMs]: String(fn.timeoutMs),
      [wasmHostEnv.memoryLimitMb]: String(fn.memoryMb),
      [wasmHostEnv.tempDir]: sandboxed ? SANDBOX_SCRATCH : this.tempDir,
      [wasmHostEnv.shutdownTimeoutMs]: String(this.options.stopGraceMs),
      [wasmHostEnv.maxInstances]: String(this.options.maxInFlight),
      [wasmHostEnv.maxBodyBytes]: String(this.wasm.maxBodyBytes),
    });
    if (sandboxed) {
      env[wasmHostEnv.listenFd] = String(LISTEN_FD);
      env[wasmHostEnv.componentFd] = String(COMPONENT_FD);
    } else {
      env[wasmHostEnv.listenAddr] = `${HOST}:${port}`;
      env[wasmHostEnv.component] = precompiled;
    }
    // On the direct port the host takes callers' connections exactly as a native program does
    // (its time limit is its own: it answers 504 and goes on serving, and never asks the runner
    // to condemn it).
    const host = this.directHost;
    const slots = host === null ? null : this.serveConnections({ host, slotsFd: SLOTS_FD, idleMs: this.wasm.directIdleMs }, env);
    const files = sandboxed ? [{ fd: COMPONENT_FD, path: precompiled }] : [];
    if (slots !== null) files.push(slots);
    return {
      command: this.wasm.host,
      args: ['serve'],
      env,
      channel: slots !== null,
      files,
      // The pooling allocator reserves address space by the terabyte up front (and touches none
      // of it): an address-space limit stops the host at start. Its cgroup (or the resident-memory
      // watch) limits the process, the host's limiter each request's linear memory.
      addressSpaceBytes: null,
    };
  }

  protected override logOptions(): Partial<FunctionLogOptions> {
    return { attribute: attributeHostLine };
  }

  protected override lastWords(lines: readonly string[]): string | undefined {
    return hostStartError(lines);
  }
}
