import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './function-sources';

const SDK = join(repoRoot, 'sdk', 'ignite-rs', 'ignite');

/** Test fixtures that become components: the handler's source file. */
export const COMPONENT_FIXTURES = {
  'rust-hello': join(repoRoot, 'sdk', 'ignite-rs', 'code_sources', 'rust-hello', 'src', 'lib.rs'),
  'handler-semantics': join(repoRoot, 'sdk', 'ignite-rs', 'fixtures', 'handler-semantics', 'src', 'lib.rs'),
  // A synchronous handler in a src/main.rs, built as the library the compile step makes of it.
  'sync-handler': join(repoRoot, 'sdk', 'ignite-rs', 'fixtures', 'sync-handler', 'src', 'main.rs'),
} as const;

function cacheHome(): string {
  return process.env.IGNITE_CACHE_HOME || join(homedir(), '.cache', 'ignite');
}

/**
 * How to run cargo for wasm32-wasip2 on this machine, as the compile worker does: the default
 * toolchain if it has the target, else the one provisioning assembled
 * (`<cache>/wasm-toolchain/toolchain.json`, scripts/platform/toolchains.mts).
 */
function wasmCargo(): { cargo: string; env: Record<string, string> } {
  const sysroot = spawnSync('rustc', ['--print', 'sysroot'], { encoding: 'utf8' }).stdout.trim();
  if (sysroot && existsSync(join(sysroot, 'lib', 'rustlib', 'wasm32-wasip2', 'lib'))) return { cargo: 'cargo', env: {} };
  const manifestPath = join(cacheHome(), 'wasm-toolchain', 'toolchain.json');
  if (!existsSync(manifestPath)) {
    throw new Error(
      `no wasm32-wasip2 toolchain: provision it with \`node scripts/platform/main.mts test\` (or npm test), which writes ${manifestPath}`,
    );
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { rustc: string; cargo: string; rustflags: string[] };
  return { cargo: manifest.cargo, env: { RUSTC: manifest.rustc, CARGO_ENCODED_RUSTFLAGS: manifest.rustflags.join('\x1f') } };
}

/**
 * Builds a fixture into a `wasi:http/proxy` component the way the compile worker does (the
 * handler's crate as a cdylib, the platform's wasm release profile), in a cache directory that
 * outlives the test run: an unchanged fixture is not rebuilt. Returns the component's path.
 */
export function buildComponent(name: keyof typeof COMPONENT_FIXTURES): string {
  const root = join(cacheHome(), 'runner-wasm-test');
  const project = join(root, name);
  mkdirSync(project, { recursive: true });
  const manifest = [
    '[package]',
    `name = "${name}"`,
    'version = "0.1.0"',
    'edition = "2021"',
    'publish = false',
    '',
    '[lib]',
    `path = ${JSON.stringify(COMPONENT_FIXTURES[name])}`,
    'crate-type = ["cdylib"]',
    '',
    '[dependencies]',
    `ignite = { path = ${JSON.stringify(SDK)} }`,
    'serde = { version = "1", features = ["derive"] }',
    'serde_json = "1"',
    'tokio = { version = "1", features = ["macros", "sync", "io-util", "rt", "time"] }',
    '',
    '[profile.release]',
    'opt-level = "s"',
    'lto = true',
    'codegen-units = 1',
    'strip = true',
    'panic = "abort"',
    '',
    '[workspace]',
    '',
  ].join('\n');
  const manifestPath = join(project, 'Cargo.toml');
  if (!existsSync(manifestPath) || readFileSync(manifestPath, 'utf8') !== manifest) writeFileSync(manifestPath, manifest);
  const { cargo, env } = wasmCargo();
  const targetDir = join(root, 'target');
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, CARGO_TARGET_DIR: targetDir, CARGO_TERM_COLOR: 'never' };
  delete childEnv.RUSTFLAGS;
  execFileSync(cargo, ['build', '--release', '--quiet', '--target', 'wasm32-wasip2', '--manifest-path', manifestPath], {
    env: childEnv,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return join(targetDir, 'wasm32-wasip2', 'release', `${name.replaceAll('-', '_')}.wasm`);
}
