import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type BuildExecutor, BuildFailure, type BuildOutcome, type BuildRequest, type LogSink } from './build-executor';
import { parseCargoStdoutLine } from './cargo-messages';
import { runSupervised } from './child-process';
import { type RustToolchain, TARGET_TRIPLES } from './rust-toolchain';
import { bubblewrapArgs } from './sandbox';
import { defaultCacheHome, resolveWasmToolchain, type WasmToolchain } from './wasm-toolchain';

export interface LocalExecutorOptions {
  toolchain: RustToolchain;
  /** The bundled SDK's workspace (mounted read-only: user manifests point at it). */
  sdkWorkspaceDir: string;
  /** Shared caches: `cargo-home` (registry) and `target/<toolchain>-<triple>` (dependency builds). */
  cacheDir: string;
  sandbox: 'bwrap' | 'none';
  logMaxBytes: number;
  /** The wasm32-wasip2 toolchain, resolved at the first wasm build (default: `auto`, in the default cache home; the worker passes its configuration's). */
  wasm?: () => WasmToolchain;
}

/** What a build runs: which cargo, with what environment, seeing which directories. */
interface ToolchainPlan {
  cargo: string;
  version: string;
  env: Record<string, string>;
  path: string[];
  readOnly: string[];
}

/**
 * Builds on this machine: `cargo fetch` (network, no user code runs), then `cargo build` with no
 * network, both inside bubblewrap. Dependency builds are shared through one cargo target directory
 * per toolchain and target; builds that share it take turns (cargo would serialize them on its own
 * lock anyway), which also keeps the final binary from being overwritten before it is copied out.
 */
export class LocalExecutor implements BuildExecutor {
  readonly name = 'local';
  readonly startCheckHere = true;

  constructor(private readonly options: LocalExecutorOptions) {}

  async build(request: BuildRequest, log: LogSink, signal: AbortSignal): Promise<BuildOutcome> {
    const { toolchain, cacheDir } = this.options;
    const triple = TARGET_TRIPLES[request.target];
    const plan: ToolchainPlan =
      request.target === 'wasm'
        ? this.wasmPlan()
        : { cargo: toolchain.cargo, version: toolchain.version, env: {}, path: [`${toolchain.dir}/bin`], readOnly: [] };
    const toolchainKey = createHash('sha256').update(plan.version).digest('hex').slice(0, 12);
    const cargoHome = join(cacheDir, 'cargo-home');
    const targetDir = join(cacheDir, 'target', `${toolchainKey}-${triple}`);
    const buildDir = request.workDir;
    const home = join(buildDir, 'home');
    await Promise.all([cargoHome, targetDir, home, dirname(request.outputPath)].map((dir) => mkdir(dir, { recursive: true })));

    const env = {
      ...plan.env,
      PATH: [...plan.path, '/usr/bin', '/bin'].join(':'),
      HOME: home,
      LANG: 'C.UTF-8',
      CARGO_HOME: cargoHome,
      CARGO_TARGET_DIR: targetDir,
      CARGO_TERM_COLOR: 'never',
      CARGO_NET_RETRY: '3',
    };
    const manifest = join(request.projectDir, 'Cargo.toml');
    const errors: string[] = [];
    let loggedBytes = 0;
    let truncated = false;
    const capped: LogSink = (stream, text) => {
      if (truncated) return;
      loggedBytes += Buffer.byteLength(text) + 1;
      if (loggedBytes > this.options.logMaxBytes) {
        truncated = true;
        log('system', `build log truncated at ${this.options.logMaxBytes} bytes; the build goes on`);
        return;
      }
      log(stream, text);
    };
    const onLine = (stream: 'stdout' | 'stderr', line: string) => {
      if (stream === 'stderr') return capped('stderr', line);
      const parsed = parseCargoStdoutLine(line);
      if (parsed.kind === 'ignored') return;
      if (parsed.kind === 'diagnostic' && parsed.error) errors.push(parsed.error);
      for (const text of parsed.text.split('\n')) capped('stdout', text);
    };

    const deadline = Date.now() + request.timeoutMs;
    const phase = async (name: string, command: string[], network: boolean) => {
      const [program, ...args] = this.wrap(command, {
        env,
        cwd: request.projectDir,
        network,
        writable: [buildDir, cargoHome, targetDir],
        readOnly: plan.readOnly,
      });
      const result = await runSupervised({
        command: program!,
        args,
        env: this.options.sandbox === 'none' ? env : { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        cwd: request.projectDir,
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal,
        onLine,
      });
      if (result.outcome === 'timeout')
        throw new BuildFailure(`build exceeded its time limit of ${Math.round(request.timeoutMs / 1000)} s`, 'timeout');
      if (result.outcome === 'canceled') throw new BuildFailure('build canceled', 'canceled');
      if (result.code !== 0) {
        const summary = errors[0] ?? `${name} failed with exit code ${result.code}`;
        throw new BuildFailure(summary, name === 'cargo build' ? 'compile' : 'infrastructure', errors.slice(0, 20));
      }
    };

    capped('system', `toolchain: ${plan.version}, target: ${triple}, sandbox: ${this.options.sandbox}`);
    await phase('cargo fetch', [plan.cargo, 'fetch', '--manifest-path', manifest], true);
    const artifactName = request.target === 'wasm' ? `${request.binName}.wasm` : request.binName;
    const builtPath = join(targetDir, triple, 'release', artifactName);
    const cargoBuild = [
      plan.cargo,
      'build',
      '--release',
      '--offline',
      '--manifest-path',
      manifest,
      ...(request.crateKind === 'cdylib' ? ['--lib'] : ['--bin', request.binName]),
      '--target',
      triple,
      '--message-format=json',
    ];
    // One shell under the lock: build, then copy the binary out before another build can replace it.
    const script = 'set -e; out="$1"; built="$2"; shift 2; "$@"; cp "$built" "$out"';
    await phase(
      'cargo build',
      ['flock', join(targetDir, '.ignite-build.lock'), 'sh', '-c', script, 'sh', request.outputPath, builtPath, ...cargoBuild],
      false,
    );
    return { toolchain: plan.version, targetTriple: triple };
  }

  private wasmToolchain: WasmToolchain | null = null;

  /** The wasm32-wasip2 toolchain (resolved once; an unprovisioned one fails the build as infrastructure). */
  private wasmPlan(): ToolchainPlan {
    this.wasmToolchain ??=
      this.options.wasm?.() ?? resolveWasmToolchain({ mode: 'auto', native: this.options.toolchain, cacheHome: defaultCacheHome() });
    const wasm = this.wasmToolchain;
    return { cargo: wasm.cargo, version: wasm.version, env: wasm.env, path: wasm.path, readOnly: wasm.readOnlyPaths };
  }

  private wrap(
    command: string[],
    spec: { env: Record<string, string>; cwd: string; network: boolean; writable: string[]; readOnly: string[] },
  ): string[] {
    if (this.options.sandbox === 'none') return command;
    const readOnly = [this.options.toolchain.dir, this.options.sdkWorkspaceDir, ...spec.readOnly];
    return [
      'bwrap',
      ...bubblewrapArgs({ readOnly, writable: spec.writable, env: spec.env, cwd: spec.cwd, network: spec.network }, command),
    ];
  }
}
