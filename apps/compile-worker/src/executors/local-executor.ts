import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '@ignite/service-kit';
import { type BuildExecutor, BuildFailure, type BuildOutcome, type BuildRequest, type LogSink } from './build-executor';
import { parseCargoStdoutLine } from './cargo-messages';
import { runSupervised } from './child-process';
import { type CargoMetadata, planDependencyStub, touchTree, writeDependencyStub } from './dependency-stub';
import { type RustToolchain, TARGET_TRIPLES } from './rust-toolchain';
import { type LaunchMount, launchCommand, pickStageDir, resolveSandboxIdentity, type SandboxIdentity } from './sandbox-launch';
import { defaultCacheHome, resolveWasmToolchain, type WasmToolchain } from './wasm-toolchain';

export interface LocalExecutorOptions {
  toolchain: RustToolchain;
  /** The bundled SDK's workspace (mounted read-only: user manifests point at it). */
  sdkWorkspaceDir: string;
  /**
   * Shared caches: `sources` (what `cargo fetch` downloaded: the registry, git checkouts) and
   * `dependencies/<toolchain>-<triple>` (compiled dependencies); `unsandboxed/` holds those of
   * `sandbox: 'none'`, never mixed with the sandboxed ones.
   */
  cacheDir: string;
  sandbox: 'bwrap' | 'none';
  logMaxBytes: number;
  /** The wasm32-wasip2 toolchain, resolved at the first wasm build (default: `auto`, in the default cache home; the worker passes its configuration's). */
  wasm?: () => WasmToolchain;
  /** The host uid and gid sandboxes run as when the worker is root (default 200100): no account needed, never 0. */
  sandboxUser?: { uid: number; gid: number };
  /** Size cap of a build's private /tmp, a tmpfs (default 1 GiB). */
  tmpMaxBytes?: number;
  logger?: Logger;
}

/** What a build runs: which cargo, with what environment, seeing which directories. */
interface ToolchainPlan {
  cargo: string;
  version: string;
  env: Record<string, string>;
  path: string[];
  readOnly: string[];
}

/** How this machine isolates builds: found once, at the first sandboxed build. */
interface Isolation {
  identity: SandboxIdentity;
  /** Whether overlayfs can be mounted for a build (else builds get a private, empty target dir). */
  overlay: boolean;
}

export const DEFAULT_SANDBOX_USER = { uid: 200100, gid: 200100 };
const GiB = 1024 * 1024 * 1024;

/** Where a sandboxed build sees cargo's home and target dir: fixed, so artifacts do not depend on the host's cache path. */
export const SANDBOX_CARGO_HOME = '/ignite/cargo-home';
export const SANDBOX_TARGET_DIR = '/ignite/target';

/**
 * Builds on this machine. Sandboxed (`bwrap`, the default), a build is four steps, each in a
 * bubblewrap sandbox of its own (see sandbox-launch.ts for how it is started and as which uid):
 *
 * 1. `cargo fetch` with the network, writing the shared `sources` (registry index, .crate files
 *    and their extracted sources, git checkouts) — no code of the project or of any crate runs —
 *    then `cargo metadata` (offline) for the dependency graph.
 * 2. Dependencies: when the graph holds only crates.io packages, the bundled SDK and the
 *    project's own packages, a stub of the project (its packages emptied: dependency-stub.ts) is
 *    built into the shared `dependencies/<toolchain>-<triple>` target dir, which only this step
 *    ever writes, one build at a time (an exclusive lock). The project's code does not run here;
 *    crates.io crates' build scripts and proc-macros do.
 * 3. The project: `cargo build --offline` with no network, the shared target dir seen through a
 *    private overlay (kernel overlayfs: reads from the shared dir, every write and deletion to
 *    the build's own upper dir, discarded with it) while builds hold the lock shared. Cargo finds
 *    the dependencies fresh there and compiles only the project. The shared `sources` are
 *    mounted read-only in a private cargo home (so the registry, cargo's config and credentials
 *    of the shared home are out of reach: what the build writes to its cargo home is its own).
 * 4. The artifact is copied out of the overlay before it goes away.
 *
 * So nothing a build's `build.rs` or proc-macro does reaches another build: what it could write
 * of the shared caches is read-only (EROFS) or a private layer. The project's private /tmp is a
 * size-capped tmpfs. Without overlayfs (see `isolation`) builds get a private empty target dir
 * (safe, cold). `sandbox: 'none'` (trusted sources only) builds in place, as the worker, with its
 * own caches, one at a time.
 */
export class LocalExecutor implements BuildExecutor {
  readonly name = 'local';
  readonly startCheckHere = true;

  constructor(private readonly options: LocalExecutorOptions) {}

  async build(request: BuildRequest, log: LogSink, signal: AbortSignal): Promise<BuildOutcome> {
    const triple = TARGET_TRIPLES[request.target];
    const plan: ToolchainPlan =
      request.target === 'wasm'
        ? this.wasmPlan()
        : {
            cargo: this.options.toolchain.cargo,
            version: this.options.toolchain.version,
            env: {},
            path: [`${this.options.toolchain.dir}/bin`],
            readOnly: [],
          };
    const run = new BuildRun(request, log, signal, this.options.logMaxBytes);
    run.system(`toolchain: ${plan.version}, target: ${triple}, sandbox: ${this.options.sandbox}`);
    if (this.options.sandbox === 'none') await this.buildUnsandboxed(run, plan, triple);
    else await this.buildSandboxed(run, plan, triple);
    return { toolchain: plan.version, targetTriple: triple };
  }

  private toolchainKey(plan: ToolchainPlan): string {
    return createHash('sha256').update(plan.version).digest('hex').slice(0, 12);
  }

  private cargoBuildArgs(plan: ToolchainPlan, request: BuildRequest, manifest: string, triple: string): string[] {
    return [
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
  }

  private artifactName(request: BuildRequest): string {
    return request.target === 'wasm' ? `${request.binName}.wasm` : request.binName;
  }

  /** `sandbox: 'none'`: cargo as the worker, on caches of its own, builds taking turns. */
  private async buildUnsandboxed(run: BuildRun, plan: ToolchainPlan, triple: string): Promise<void> {
    const { request } = run;
    const root = join(this.options.cacheDir, 'unsandboxed');
    const cargoHome = join(root, 'cargo-home');
    const targetDir = join(root, 'target', `${this.toolchainKey(plan)}-${triple}`);
    const home = join(request.workDir, 'home');
    await Promise.all([cargoHome, targetDir, home, dirname(request.outputPath)].map((dir) => mkdir(dir, { recursive: true })));
    const env = {
      ...this.baseEnv(plan),
      HOME: home,
      CARGO_HOME: cargoHome,
      CARGO_TARGET_DIR: targetDir,
    };
    const manifest = join(request.projectDir, 'Cargo.toml');
    const fetch = await run.step([plan.cargo, 'fetch', '--manifest-path', manifest], { unsandboxedEnv: env, cwd: request.projectDir });
    if (fetch !== 0) run.fail('cargo fetch', fetch);
    const builtPath = join(targetDir, triple, 'release', this.artifactName(request));
    // One shell under the lock: build, then copy the artifact out before another build can replace it.
    const built = await run.step(
      [
        'flock',
        `${targetDir}.lock`,
        'sh',
        '-c',
        COPY_OUT_SCRIPT,
        'sh',
        request.outputPath,
        builtPath,
        ...this.cargoBuildArgs(plan, request, manifest, triple),
      ],
      { unsandboxedEnv: env, cwd: request.projectDir, diagnostics: true },
    );
    if (built !== 0) run.fail('cargo build', built);
  }

  private async buildSandboxed(run: BuildRun, plan: ToolchainPlan, triple: string): Promise<void> {
    const { request } = run;
    const { cacheDir, toolchain, sdkWorkspaceDir } = this.options;
    const isolation = await this.isolation(dirname(request.workDir));
    const key = `${this.toolchainKey(plan)}-${triple}`;
    const shared = {
      /** CARGO_HOME of `cargo fetch`; only its `registry` and `git` are ever seen by other steps, read-only. */
      sources: join(cacheDir, 'sources'),
      dependencies: join(cacheDir, 'dependencies', key),
      lock: join(cacheDir, 'dependencies', `${key}.lock`),
    };
    // The executor's own part of the build directory: never mounted as a whole into a sandbox.
    const own = join(request.workDir, 'sandbox');
    const dirs = {
      home: join(request.workDir, 'home'),
      out: dirname(request.outputPath),
      cargoHome: join(own, 'cargo-home'),
      metadata: join(own, 'metadata'),
      stub: join(own, 'dependency-stub'),
      upper: join(own, 'target-upper'),
      work: join(own, 'target-work'),
      privateTarget: join(own, 'target'),
    };
    const registry = join(shared.sources, 'registry');
    const git = join(shared.sources, 'git');
    await Promise.all(
      [registry, git, shared.dependencies, ...Object.values(dirs), join(dirs.cargoHome, 'registry'), join(dirs.cargoHome, 'git')].map(
        (dir) => mkdir(dir, { recursive: true }),
      ),
    );
    if (isolation.identity.kind === 'dedicated') {
      const { uid, gid } = isolation.identity;
      await Promise.all([this.ensureOwned(shared.sources, uid, gid), this.ensureOwned(shared.dependencies, uid, gid)]);
      await chownTree(request.workDir, uid, gid);
    }

    try {
      const readOnly = [toolchain.dir, sdkWorkspaceDir, ...plan.readOnly];
      const sameTree = (paths: string[], writable: boolean): LaunchMount[] => paths.map((path) => ({ source: path, dest: path, writable }));
      // The worker's own cargo configuration (a registry mirror, say), if any: what cargo fetch
      // read, seen by the later steps too, read-only.
      const workerConfig = join(shared.sources, 'config.toml');
      const privateHome: LaunchMount[] = [
        { source: dirs.cargoHome, dest: SANDBOX_CARGO_HOME, writable: true },
        { source: registry, dest: `${SANDBOX_CARGO_HOME}/registry`, writable: false },
        { source: git, dest: `${SANDBOX_CARGO_HOME}/git`, writable: false },
        ...(existsSync(workerConfig) ? [{ source: workerConfig, dest: `${SANDBOX_CARGO_HOME}/config.toml`, writable: false }] : []),
      ];
      const env = { ...this.baseEnv(plan), HOME: dirs.home, CARGO_HOME: SANDBOX_CARGO_HOME, CARGO_TARGET_DIR: SANDBOX_TARGET_DIR };
      // Cargo's automatic cache cleaning would go through the read-only registry for nothing.
      const offlineEnv = { ...env, CARGO_CACHE_AUTO_CLEAN_FREQUENCY: 'never' };
      const launch = (
        mounts: LaunchMount[],
        extra: { env: Record<string, string>; cwd: string; network: boolean; lock?: 'shared' | 'exclusive' },
        command: string[],
      ) => {
        const all = [...sameTree(readOnly, false), ...mounts];
        const stageDir = pickStageDir(
          all.flatMap((mount) => (typeof mount.source === 'string' ? [mount.source] : Object.values(mount.source))),
        );
        return launchCommand(
          {
            identity: isolation.identity,
            stageDir,
            lock: extra.lock ? { path: shared.lock, mode: extra.lock } : undefined,
            mounts: all,
            env: extra.env,
            cwd: extra.cwd,
            network: extra.network,
            tmpMaxBytes: this.options.tmpMaxBytes ?? GiB,
          },
          command,
        );
      };

      // 1. Sources: the only step that writes the shared `sources`; no code but cargo's runs.
      const manifest = join(request.projectDir, 'Cargo.toml');
      const metadataFile = join(dirs.metadata, 'metadata.json');
      const fetch = await run.step(
        launch(
          [
            ...sameTree([request.projectDir, dirs.home, dirs.metadata], true),
            { source: shared.sources, dest: SANDBOX_CARGO_HOME, writable: true },
          ],
          { env, cwd: request.projectDir, network: true },
          ['sh', '-c', FETCH_SCRIPT, 'sh', plan.cargo, manifest, metadataFile],
        ),
      );
      if (fetch !== 0) run.fail('cargo fetch', fetch);

      // 2. Dependencies, into the shared target dir, without the project's code.
      const buildArgs = (manifestPath: string) => this.cargoBuildArgs(plan, request, manifestPath, triple);
      if (!isolation.overlay) {
        run.system('dependencies: overlayfs is not available on this machine, so this build compiles everything in a private target dir');
      } else {
        const metadata = await readMetadata(metadataFile);
        const stub = metadata
          ? planDependencyStub(metadata, { projectDir: request.projectDir, sdkDir: sdkWorkspaceDir })
          : ({ kind: 'skip', reason: 'cargo metadata gave no dependency graph' } as const);
        if (stub.kind === 'skip') {
          run.system(`dependencies: not built ahead in the shared cache (${stub.reason}); they are compiled with the project, privately`);
        } else {
          await writeDependencyStub(stub, request.projectDir, dirs.stub);
          if (isolation.identity.kind === 'dedicated') await chownTree(dirs.stub, isolation.identity.uid, isolation.identity.gid);
          run.system(
            `dependencies: ${stub.counts.registry} crates.io package(s)${stub.counts.sdk > 0 ? ' and the SDK' : ''}, built in the shared cache with the project's ${stub.counts.own} package(s) stubbed out (no project code runs; cargo names the stub after the project)`,
          );
          const stubManifest = join(dirs.stub, 'Cargo.toml');
          const deps = await run.step(
            launch(
              [
                ...sameTree([dirs.stub, dirs.home], true),
                ...privateHome,
                { source: shared.dependencies, dest: SANDBOX_TARGET_DIR, writable: true },
              ],
              { env: offlineEnv, cwd: dirs.stub, network: false, lock: 'exclusive' },
              [...buildArgs(stubManifest), '--locked'],
            ),
          );
          if (deps !== 0) {
            run.system(
              `dependencies: the shared-cache step failed (exit code ${deps}); the project's build compiles what is missing, privately`,
            );
          }
        }
      }
      // The project's sources must be newer than anything the stub left in the shared cache.
      await touchTree(request.projectDir);

      // 3 and 4. The project, over a private layer of the shared target dir; the artifact copied out.
      const target: LaunchMount = isolation.overlay
        ? { source: { lower: shared.dependencies, upper: dirs.upper, work: dirs.work }, dest: SANDBOX_TARGET_DIR, writable: true }
        : { source: dirs.privateTarget, dest: SANDBOX_TARGET_DIR, writable: true };
      run.system(`building ${request.binName}${isolation.overlay ? ' over a private layer of the shared dependency cache' : ''}`);
      const builtPath = `${SANDBOX_TARGET_DIR}/${triple}/release/${this.artifactName(request)}`;
      const built = await run.step(
        launch(
          [...sameTree([request.projectDir, dirs.home, dirs.out], true), ...privateHome, target],
          { env: offlineEnv, cwd: request.projectDir, network: false, lock: isolation.overlay ? 'shared' : undefined },
          ['sh', '-c', COPY_OUT_SCRIPT, 'sh', request.outputPath, builtPath, ...buildArgs(manifest)],
        ),
        { diagnostics: true },
      );
      if (built !== 0) run.fail('cargo build', built);
    } finally {
      await removeTree(own);
    }
  }

  private baseEnv(plan: ToolchainPlan): Record<string, string> {
    return {
      ...plan.env,
      PATH: [...plan.path, '/usr/bin', '/bin'].join(':'),
      LANG: 'C.UTF-8',
      CARGO_TERM_COLOR: 'never',
      CARGO_NET_RETRY: '3',
    };
  }

  private isolationFound: Promise<Isolation> | null = null;

  /**
   * Who sandboxes are and whether overlayfs works here, found once: a root worker runs them as
   * the dedicated uid; any other worker as itself (logged: the uid wall is then missing). The
   * overlay is tried for real, the way builds mount it: the lower dir in the cache, the upper one
   * where build directories are (`buildsDir`).
   */
  private isolation(buildsDir: string): Promise<Isolation> {
    this.isolationFound ??= (async () => {
      const identity = resolveSandboxIdentity(this.options.sandboxUser ?? DEFAULT_SANDBOX_USER);
      const logger = this.options.logger;
      const stale = ['cargo-home', 'target'].filter((name) => existsSync(join(this.options.cacheDir, name)));
      if (stale.length > 0) {
        logger?.warn(
          { cacheDir: this.options.cacheDir, stale },
          'the build cache has directories of its old layout, which every build could write: no longer used, delete them',
        );
      }
      if (identity.kind === 'own') {
        logger?.warn(
          { uid: process.getuid?.() },
          'compile worker is not root: build sandboxes run as its own uid (the shared caches are still read-only or behind a private overlay in every build, but a sandbox escape would be this uid)',
        );
      }
      const probes = [this.options.cacheDir, buildsDir].map((dir) => join(dir, `.overlay-probe-${process.pid}`));
      const dirs = [join(probes[0]!, 'lower'), join(probes[1]!, 'upper'), join(probes[1]!, 'work')];
      try {
        await Promise.all(dirs.map((dir) => mkdir(dir, { recursive: true })));
        if (identity.kind === 'dedicated') for (const probe of probes) await chownTree(probe, identity.uid, identity.gid);
        const [lower, upper, work] = dirs as [string, string, string];
        const mounts: LaunchMount[] = [{ source: { lower, upper, work }, dest: '/probe', writable: true }];
        const command = launchCommand({ identity, stageDir: pickStageDir(dirs), mounts, env: {}, cwd: '/', network: false }, [
          'sh',
          '-c',
          'echo ok > /probe/written',
        ]);
        const output: string[] = [];
        const result = await runSupervised({
          command: command[0]!,
          args: command.slice(1),
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
          cwd: '/',
          timeoutMs: 30_000,
          signal: new AbortController().signal,
          onLine: (_stream, line) => output.push(line),
        });
        const overlay = result.outcome === 'exited' && result.code === 0;
        if (!overlay) {
          logger?.warn(
            { output: output.slice(0, 10).join('\n') },
            'overlayfs cannot be mounted for builds here: each build compiles its dependencies in a private target dir (no shared dependency cache)',
          );
        }
        return { identity, overlay };
      } finally {
        for (const probe of probes) await removeTree(probe);
      }
    })();
    return this.isolationFound;
  }

  private owned = new Map<string, Promise<void>>();

  /** Makes a shared cache directory the sandbox uid's (once per directory: caches copied in by root). */
  private ensureOwned(dir: string, uid: number, gid: number): Promise<void> {
    let done = this.owned.get(dir);
    if (!done) {
      done = chownTree(dir, uid, gid);
      this.owned.set(dir, done);
    }
    return done;
  }

  private wasmToolchain: WasmToolchain | null = null;

  /** The wasm32-wasip2 toolchain (resolved once; an unprovisioned one fails the build as infrastructure). */
  private wasmPlan(): ToolchainPlan {
    this.wasmToolchain ??=
      this.options.wasm?.() ?? resolveWasmToolchain({ mode: 'auto', native: this.options.toolchain, cacheHome: defaultCacheHome() });
    const wasm = this.wasmToolchain;
    return { cargo: wasm.cargo, version: wasm.version, env: wasm.env, path: wasm.path, readOnly: wasm.readOnlyPaths };
  }
}

/** `cargo fetch`, then the dependency graph for the stub (a failed `cargo metadata` only leaves no graph). */
const FETCH_SCRIPT =
  'set -e; cargo=$1; manifest=$2; out=$3; "$cargo" fetch --manifest-path "$manifest"; "$cargo" metadata --offline --format-version 1 --manifest-path "$manifest" > "$out" || rm -f "$out"';

/** Builds, then copies the artifact out (`$1`) from where cargo left it (`$2`). */
const COPY_OUT_SCRIPT = 'set -e; out="$1"; built="$2"; shift 2; "$@"; cp "$built" "$out"';

/** A build's log and deadline, and the steps it runs. */
class BuildRun {
  private readonly errors: string[] = [];
  private loggedBytes = 0;
  private truncated = false;
  private readonly deadline: number;

  constructor(
    readonly request: BuildRequest,
    private readonly log: LogSink,
    private readonly signal: AbortSignal,
    private readonly logMaxBytes: number,
  ) {
    this.deadline = Date.now() + request.timeoutMs;
  }

  system(text: string): void {
    this.capped('system', text);
  }

  private capped(stream: 'stdout' | 'stderr' | 'system', text: string): void {
    if (this.truncated) return;
    this.loggedBytes += Buffer.byteLength(text) + 1;
    if (this.loggedBytes > this.logMaxBytes) {
      this.truncated = true;
      this.log('system', `build log truncated at ${this.logMaxBytes} bytes; the build goes on`);
      return;
    }
    this.log(stream, text);
  }

  /**
   * Runs a host command line (a sandbox launch, or cargo itself unsandboxed), its output into the
   * log; `diagnostics`: its compiler errors summarize a failure. Resolves to its exit code;
   * timeout and cancel reject.
   */
  async step(
    command: string[],
    options: { unsandboxedEnv?: Record<string, string>; cwd?: string; diagnostics?: boolean } = {},
  ): Promise<number> {
    const result = await runSupervised({
      command: command[0]!,
      args: command.slice(1),
      // A sandboxed step gets its environment inside bubblewrap (--clearenv, --setenv).
      env: options.unsandboxedEnv ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      cwd: options.cwd ?? '/',
      timeoutMs: Math.max(1, this.deadline - Date.now()),
      signal: this.signal,
      onLine: (stream, line) => {
        if (stream === 'stderr') return this.capped('stderr', line);
        const parsed = parseCargoStdoutLine(line);
        if (parsed.kind === 'ignored') return;
        if (parsed.kind === 'diagnostic' && parsed.error && options.diagnostics) this.errors.push(parsed.error);
        for (const text of parsed.text.split('\n')) this.capped('stdout', text);
      },
    });
    if (result.outcome === 'timeout')
      throw new BuildFailure(`build exceeded its time limit of ${Math.round(this.request.timeoutMs / 1000)} s`, 'timeout');
    if (result.outcome === 'canceled') throw new BuildFailure('build canceled', 'canceled');
    return result.code;
  }

  fail(name: string, code: number): never {
    const summary = this.errors[0] ?? `${name} failed with exit code ${code}`;
    throw new BuildFailure(summary, name === 'cargo build' ? 'compile' : 'infrastructure', this.errors.slice(0, 20));
  }
}

async function readMetadata(path: string): Promise<CargoMetadata | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CargoMetadata;
  } catch {
    return undefined;
  }
}

/** lchown of a tree (links themselves, never followed), skipping what is already owned. */
async function chownTree(path: string, uid: number, gid: number): Promise<void> {
  const stat = await lstat(path);
  if (stat.uid !== uid || stat.gid !== gid) await lchown(path, uid, gid);
  if (!stat.isDirectory()) return;
  for (const entry of await readdir(path)) await chownTree(join(path, entry), uid, gid);
}

/** rm -rf, also through overlayfs's work dir (mode 000) when the worker is not root. */
async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch {
    await chmodTree(path).catch(() => undefined);
    await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function chmodTree(path: string): Promise<void> {
  const stat = await lstat(path);
  if (!stat.isDirectory()) return;
  await chmod(path, 0o700);
  for (const entry of await readdir(path)) await chmodTree(join(path, entry));
}
