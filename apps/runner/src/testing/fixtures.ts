import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

const ROOT = resolve(__dirname, '../../../..');
const SDK = join(ROOT, 'sdk/ignite-rs');
const FIXTURES = join(ROOT, 'apps/runner/fixtures');
// `npm test` points these at caches outside the clone, so CI on one machine stays warm.
const FIXTURES_TARGET = process.env.IGNITE_FIXTURES_TARGET_DIR ?? join(FIXTURES, 'target');
const SDK_TARGET = process.env.IGNITE_SDK_TARGET_DIR ?? process.env.CARGO_TARGET_DIR ?? join(SDK, 'target');

export interface FixturePrograms {
  /** The SDK's serve-loop fixture: `{"action": "echo" | "err" | "panic" | "sleep" | …}`. */
  semantics: string;
  /** The contract's hello handler, as the compile step builds it. */
  hello: string;
  /** SDK-based: `hello`, `env`, `alloc`, `exit`, `abort`, `sleep`. */
  faults: string;
  /** Not an SDK program: `RAW_MODE` = garbage | close | never-ready | exit-early. */
  raw: string;
}

let built: Promise<FixturePrograms> | null = null;

/**
 * Builds the fixture programs (release mode). Cargo's own locks serialize concurrent builds
 * from parallel test files, and a build with nothing to do takes a moment.
 */
export function buildFixtures(): Promise<FixturePrograms> {
  built ??= (async () => {
    const cargo = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
      run('cargo', ['build', '--release', '--quiet', ...args], { env, maxBuffer: 16 * 1024 * 1024, timeout: 900_000 });
    await cargo(['--manifest-path', join(SDK, 'Cargo.toml'), '-p', 'semantics', '-p', 'rust-hello-bin'], {
      ...process.env,
      CARGO_TARGET_DIR: SDK_TARGET,
    });
    const env = { ...process.env, CARGO_TARGET_DIR: FIXTURES_TARGET };
    await cargo(['--locked', '--manifest-path', join(FIXTURES, 'raw/Cargo.toml')], env);
    // Not --locked: the SDK it depends on by path may gain dependencies.
    await cargo(['--manifest-path', join(FIXTURES, 'faults/Cargo.toml')], env);
    return {
      semantics: join(SDK_TARGET, 'release/semantics'),
      hello: join(SDK_TARGET, 'release/rust-hello-bin'),
      faults: join(FIXTURES_TARGET, 'release/faults'),
      raw: join(FIXTURES_TARGET, 'release/raw'),
    };
  })();
  return built;
}
