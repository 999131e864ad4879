// The build, check and run steps shared by `npm start` and `npm test`.

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from './exec.mts';
import { ProvisionError, say } from './log.mts';
import { DEFAULT_SUPERVISION, type Part, supervise } from './supervisor.mts';

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

/** Every file under `dir`, sorted (the console's sources, for its inputs' digest). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/**
 * Type-checks the web console (apps/console: React, bundled by Vite) and bundles it into
 * apps/console/dist, which the API serves at /console. Skipped when its sources, configuration and
 * the lockfile are what the last bundle was made of (a digest kept beside it).
 */
export async function buildConsole(root: string): Promise<void> {
  const dir = join(root, 'apps', 'console');
  const inputs = [
    ...filesUnder(join(dir, 'src')),
    ...['index.html', 'vite.config.ts', 'tsconfig.json', 'package.json'].map((name) => join(dir, name)),
  ];
  const digest = createHash('sha256');
  for (const file of [...inputs, join(root, 'package-lock.json')])
    digest.update(relative(root, file)).update('\0').update(readFileSync(file));
  const sum = digest.digest('hex');
  const stamp = join(dir, 'dist', '.inputs-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === sum) return;
  say('building the web console (apps/console)');
  const checked = await run(node, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], {
    cwd: root,
  });
  if (checked !== 0) throw new ProvisionError('type check of the console failed (see above).', 'npx tsc -p apps/console');
  const bundled = await run(node, [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'warn'], { cwd: dir });
  if (bundled !== 0) throw new ProvisionError('the console did not bundle (see above).', 'cd apps/console && npx vite build');
  writeFileSync(stamp, sum);
}

/**
 * Builds the runner's sandbox launcher (apps/runner/sandbox, Rust) into `targetDir` (a cache that
 * outlives the clone: seconds when nothing changed) and puts it where the runner looks for it,
 * apps/runner/dist/ignite-sandbox.
 */
export function buildSandboxLauncher(root: string, targetDir: string): Promise<void> {
  return buildRunnerProgram(root, 'sandbox', 'ignite-sandbox', targetDir, 'the sandbox launcher');
}

/**
 * Builds the runner's wasm host (apps/runner/wasm-host: Wasmtime, the repository's largest Rust
 * build, minutes on a fresh machine, seconds from its cache) and puts it where the runner and the
 * compile worker look for it, apps/runner/dist/ignite-wasm-host. The same target directory and
 * profile as its cargo tests, so that Wasmtime is built once for both.
 */
export function buildWasmHost(root: string, targetDir: string): Promise<void> {
  return buildRunnerProgram(root, 'wasm-host', 'ignite-wasm-host', targetDir, 'the wasm host');
}

async function buildRunnerProgram(root: string, crate: string, binary: string, targetDir: string, what: string): Promise<void> {
  const manifest = join(root, 'apps', 'runner', crate, 'Cargo.toml');
  const code = await run('cargo', ['build', '--release', '--locked', '--quiet', '--manifest-path', manifest, '--bin', binary], {
    cwd: root,
    env: { ...process.env, CARGO_TARGET_DIR: targetDir },
  });
  if (code !== 0) {
    throw new ProvisionError(`${what} did not build (see above).`, `cargo build --release --manifest-path ${manifest}`);
  }
  const dist = join(root, 'apps', 'runner', 'dist');
  mkdirSync(dist, { recursive: true });
  // Renamed into place whole: a runner starting meanwhile never sees half a binary.
  const staged = join(dist, `.${binary}.new`);
  copyFileSync(join(targetDir, 'release', binary), staged);
  renameSync(staged, join(dist, binary));
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

/** Runs the platform in the foreground, each part supervised (supervisor.mts); Ctrl-C stops it. */
export function startPlatform(root: string, env: Record<string, string>): Promise<number> {
  const parts: Part[] = APPS.map((app) => ({
    name: app,
    command: node,
    args: ['--enable-source-maps', join(root, 'apps', app, 'dist', 'main.js')],
  })).filter((part) => existsSync(part.args[1]!));
  if (parts.length === 0) {
    say('nothing to run yet: no app is built');
    return Promise.resolve(0);
  }
  return supervise(parts, { ...DEFAULT_SUPERVISION, cwd: root, env: { ...process.env, ...env } });
}
