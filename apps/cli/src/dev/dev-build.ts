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
  cargo: string;
}

export type DevBuild =
  | { ok: true; program: string; number: number; seconds: number }
  | { ok: false; seconds: number; problem: string; output: string[] };

/**
 * Builds the user's folder as the platform would: the same files `draft save` uploads, prepared
 * by the compile worker's own manifest preparation (bundled SDK, the contract's dependencies, the
 * bin target running the handler), then `cargo build` (debug: rebuilds in seconds). Each build's
 * program is copied out of the shared target dir, so the one serving is never overwritten.
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
    let binName: string;
    try {
      ({ binName } = await prepareProject(project, { sdkPath: this.options.sdkPath, target: 'native' }));
    } catch (error) {
      if (error instanceof ManifestError) return { ok: false, seconds: seconds(), problem: error.message, output: [] };
      throw error;
    }
    const output: string[] = [];
    const code = await this.cargo(project, ['build', '--bin', binName, '--message-format', 'short'], output);
    if (code !== 0) {
      // The errors, with their file:line (the staged copy has the user's layout); not the progress lines.
      const errors = output.filter(
        (line) => !/^\s*(Compiling|Checking|Downloaded|Downloading|Updating|Locking|Adding|Blocking)\b/.test(line),
      );
      return { ok: false, seconds: seconds(), problem: `cargo build failed (exit ${code})`, output: errors };
    }
    const number = ++this.builds;
    const program = join(this.options.workDir, 'builds', String(number));
    await mkdir(dirname(program), { recursive: true });
    await copyFile(join(this.options.targetDir, 'debug', binName), program);
    return { ok: true, program, number, seconds: seconds() };
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

  private cargo(cwd: string, args: string[], output: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.options.cargo, args, {
        cwd,
        env: { ...process.env, CARGO_TARGET_DIR: this.options.targetDir, CARGO_TERM_COLOR: 'never' },
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
