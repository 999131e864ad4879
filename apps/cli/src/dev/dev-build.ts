import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sourceFiles } from '../pack-source';

export interface DevBuildOptions {
  /** The user's project folder. */
  codeDir: string;
  /** This project's own working folder: its staged copy and its builds. */
  workDir: string;
  /** Cargo's target dir, shared by every project's dev builds (dependencies compiled once). */
  targetDir: string;
  /** The bundled SDK (`sdk/ignite-rs/ignite`), swapped in for `ignite = "*"` as the compile worker does. */
  sdkPath: string;
  target: 'native' | 'wasm';
  /** Cargo, and what it runs with (the wasm toolchain's rustc and flags). */
  cargo: string;
  env: Record<string, string>;
  /** For wasm: the wasm host, which precompiles each component as the compile worker has it do. */
  wasmHost?: string;
}

export type DevBuild =
  /** `artifact`: the program (native), or the precompiled component (wasm). */
  { ok: true; artifact: string; number: number; seconds: number } | { ok: false; seconds: number; problem: string; output: string[] };

/**
 * Builds the user's folder as the platform would: the same files `draft save` uploads, prepared
 * by the compile worker's own manifest preparation (bundled SDK, the contract's dependencies, the
 * bin target running the handler, or for wasm the handler's crate as a component), then `cargo
 * build` (debug: rebuilds in seconds; wasm32-wasip2 with the platform's wasm toolchain, then
 * precompiled by the wasm host). Each build's artifact is copied out of the shared target dir, so
 * the one serving is never overwritten.
 */
export class DevBuilder {
  private builds = 0;

  constructor(private readonly options: DevBuildOptions) {}

  async build(): Promise<DevBuild> {
    const started = Date.now();
    const seconds = () => (Date.now() - started) / 1000;
    const project = join(this.options.workDir, 'project');
    await this.stage(project);
    // Loaded here: the TOML parser is the dev loop's, not every command's.
    const { ManifestError, prepareProject } = require('@ignite/function-manifest') as typeof import('@ignite/function-manifest');
    let prepared: { binName: string; crateKind: 'bin' | 'cdylib' };
    try {
      prepared = await prepareProject(project, { sdkPath: this.options.sdkPath, target: this.options.target });
    } catch (error) {
      if (error instanceof ManifestError) return { ok: false, seconds: seconds(), problem: error.message, output: [] };
      throw error;
    }
    const wasm = this.options.target === 'wasm';
    const args = [
      'build',
      ...(prepared.crateKind === 'cdylib' ? ['--lib'] : ['--bin', prepared.binName]),
      ...(wasm ? ['--target', 'wasm32-wasip2'] : []),
      '--message-format',
      'short',
    ];
    const output: string[] = [];
    const code = await this.run(this.options.cargo, args, project, output);
    if (code !== 0) {
      // The errors, with their file:line (the staged copy has the user's layout); not the progress lines.
      const errors = output.filter(
        (line) => !/^\s*(Compiling|Checking|Downloaded|Downloading|Updating|Locking|Adding|Blocking)\b/.test(line),
      );
      return { ok: false, seconds: seconds(), problem: `cargo build failed (exit ${code})`, output: errors };
    }
    const number = ++this.builds;
    const builds = join(this.options.workDir, 'builds');
    await mkdir(builds, { recursive: true });
    if (!wasm) {
      const artifact = join(builds, String(number));
      await copyFile(join(this.options.targetDir, 'debug', prepared.binName), artifact);
      return { ok: true, artifact, number, seconds: seconds() };
    }
    const artifact = join(builds, `${number}.cwasm`);
    const component = join(this.options.targetDir, 'wasm32-wasip2', 'debug', `${prepared.binName}.wasm`);
    const precompiled: string[] = [];
    if ((await this.run(this.options.wasmHost!, ['precompile', component, artifact], project, precompiled)) !== 0) {
      return { ok: false, seconds: seconds(), problem: 'the wasm host could not compile the component', output: precompiled };
    }
    return { ok: true, artifact, number, seconds: seconds() };
  }

  /** The user's files, fresh, over the last staged copy (its Cargo.lock kept: no new resolution per save). */
  private async stage(project: string): Promise<void> {
    await mkdir(project, { recursive: true });
    const keep = new Set(['Cargo.lock']);
    for (const entry of await readdir(project)) {
      if (!keep.has(entry)) await rm(join(project, entry), { recursive: true, force: true });
    }
    for (const file of await sourceFiles(this.options.codeDir)) {
      await mkdir(dirname(join(project, file)), { recursive: true });
      await copyFile(join(this.options.codeDir, file), join(project, file));
    }
  }

  private run(command: string, args: string[], cwd: string, output: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, {
        cwd,
        env: { ...process.env, ...this.options.env, CARGO_TARGET_DIR: this.options.targetDir, CARGO_TERM_COLOR: 'never' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let partial = '';
      child.stderr.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        output.push(...lines);
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (partial !== '') output.push(partial);
        resolve(code ?? 1);
      });
    });
  }
}
