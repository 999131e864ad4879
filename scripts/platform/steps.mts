// The build, check and run steps shared by `npm start` and `npm test`.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.mts';
import { ProvisionError, say } from './log.mts';

const node = process.execPath;

/** Generates the Prisma client when the schema changed since the last generation. */
export async function generatePrismaClient(root: string): Promise<void> {
  const schema = readFileSync(join(root, 'prisma', 'schema.prisma'));
  const digest = createHash('sha256').update(schema).digest('hex');
  const stamp = join(root, 'packages', 'database', 'src', 'generated', '.schema-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) return;
  say('generating the Prisma client');
  // `generate` only version-checks the schema engine binary, which cannot be downloaded here;
  // any executable satisfies it (migrations use the WebAssembly engine instead).
  const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/true', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
  const code = await run(node, [join(root, 'node_modules', 'prisma', 'build', 'index.js'), 'generate'], { env, cwd: root });
  if (code !== 0) throw new ProvisionError('prisma generate failed (see above).');
  writeFileSync(stamp, digest);
}

/** Compiles every TypeScript project (incremental: seconds when nothing changed). */
export async function buildTypeScript(root: string): Promise<void> {
  const code = await run(node, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(root, 'tsconfig.json')], { cwd: root });
  if (code !== 0) throw new ProvisionError('TypeScript build failed (see above).', 'npx tsc -b');
}

/**
 * Builds the runner's sandbox launcher (apps/runner/sandbox, Rust) into `targetDir` (a cache that
 * outlives the clone: seconds when nothing changed) and puts it where the runner looks for it,
 * apps/runner/dist/ignite-sandbox.
 */
export async function buildSandboxLauncher(root: string, targetDir: string): Promise<void> {
  const manifest = join(root, 'apps', 'runner', 'sandbox', 'Cargo.toml');
  const code = await run('cargo', ['build', '--release', '--locked', '--quiet', '--manifest-path', manifest], {
    cwd: root,
    env: { ...process.env, CARGO_TARGET_DIR: targetDir },
  });
  if (code !== 0) {
    throw new ProvisionError('the sandbox launcher did not build (see above).', `cargo build --release --manifest-path ${manifest}`);
  }
  const dist = join(root, 'apps', 'runner', 'dist');
  mkdirSync(dist, { recursive: true });
  // Renamed into place whole: a runner starting meanwhile never sees half a binary.
  const staged = join(dist, '.ignite-sandbox.new');
  copyFileSync(join(targetDir, 'release', 'ignite-sandbox'), staged);
  renameSync(staged, join(dist, 'ignite-sandbox'));
}

/** Formatting, lint rules and the provisioning scripts' types. */
export async function lint(root: string): Promise<void> {
  const biome = await run(join(root, 'node_modules', '.bin', 'biome'), ['check', '--error-on-warnings', root], { cwd: root });
  if (biome !== 0) throw new ProvisionError('biome check failed (see above).', 'npm run format');
  const scripts = await run(node, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'scripts', 'tsconfig.json')], {
    cwd: root,
  });
  if (scripts !== 0) throw new ProvisionError('type check of scripts/ failed (see above).');
}

export async function runJest(root: string, env: Record<string, string>, args: string[]): Promise<number> {
  // The Kubernetes client is an ES module only; jest loads those with vm modules.
  return run(
    node,
    [
      '--experimental-vm-modules',
      '--disable-warning=ExperimentalWarning',
      join(root, 'node_modules', 'jest', 'bin', 'jest.js'),
      '--ci',
      ...args,
    ],
    {
      cwd: root,
      env: { ...process.env, ...env },
    },
  );
}

/**
 * Formatting, lints and tests of the repository's Rust crates: the SDK, the runner's sandbox
 * launcher and its wasm host. The wasm host is linted and tested in the release profile only:
 * Wasmtime is the largest build of the repository, built once for both (its tests run real
 * components, which a debug Wasmtime runs slowly).
 */
export async function runCargoTests(root: string, targets: { sdk: string; sandbox: string; wasmHost: string }): Promise<number> {
  const crates: [string, string, string, string[]][] = [
    ['sdk/ignite-rs', join(root, 'sdk', 'ignite-rs', 'Cargo.toml'), targets.sdk, []],
    ['apps/runner/sandbox', join(root, 'apps', 'runner', 'sandbox', 'Cargo.toml'), targets.sandbox, []],
    ['apps/runner/wasm-host', join(root, 'apps', 'runner', 'wasm-host', 'Cargo.toml'), targets.wasmHost, ['--release']],
  ];
  for (const [name, manifest, targetDir, profile] of crates) {
    const steps: [string, string[]][] = [
      ['cargo', ['fmt', '--manifest-path', manifest, '--all', '--check']],
      ['cargo', ['clippy', '--manifest-path', manifest, '--workspace', '--all-targets', '--locked', ...profile, '--', '-D', 'warnings']],
      ['cargo', ['test', '--manifest-path', manifest, '--workspace', '--locked', ...profile]],
    ];
    for (const [command, args] of steps) {
      say(`${command} ${args[0]} (${name})`);
      const code = await run(command, args, { cwd: root, env: { ...process.env, CARGO_TARGET_DIR: targetDir } });
      if (code !== 0) return code;
    }
  }
  return 0;
}

/** The deployables `npm start` runs, in start order; those not built yet are skipped. */
const APPS = ['api', 'compile-worker', 'runner'];

/** Runs the platform in the foreground; stops everything when one part exits or on Ctrl-C. */
export function startPlatform(root: string, env: Record<string, string>): Promise<number> {
  const children: ChildProcess[] = [];
  let stopping = false;
  return new Promise((resolve) => {
    const stopAll = (code: number) => {
      if (stopping) return;
      stopping = true;
      for (const child of children) child.kill('SIGTERM');
      const deadline = setTimeout(() => {
        for (const child of children) child.kill('SIGKILL');
      }, 10_000);
      deadline.unref();
      Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r))))).then(() => resolve(code));
    };
    for (const app of APPS) {
      const entry = join(root, 'apps', app, 'dist', 'main.js');
      if (!existsSync(entry)) continue;
      const child = spawn(node, ['--enable-source-maps', entry], { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
      child.on('exit', (code, signal) => {
        if (!stopping) say(`${app} exited (${signal ?? `code ${code}`}); stopping the platform`);
        stopAll(code ?? 1);
      });
      children.push(child);
    }
    if (children.length === 0) {
      say('nothing to run yet: no app is built');
      resolve(0);
      return;
    }
    say(`running ${children.length} part(s); Ctrl-C stops them`);
    process.on('SIGINT', () => stopAll(0));
    process.on('SIGTERM', () => stopAll(0));
  });
}
