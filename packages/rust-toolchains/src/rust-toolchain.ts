import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';

export interface RustToolchain {
  /** The toolchain's root: `bin/cargo` and `bin/rustc` live under it. */
  dir: string;
  cargo: string;
  /** `rustc --version`, recorded on every build. */
  version: string;
}

/** The configured toolchain directory, or the one rustup's default resolves to. */
export function resolveRustToolchain(configuredDir?: string): RustToolchain {
  const dir = configuredDir ?? dirname(dirname(execFileSync('rustup', ['which', 'rustc'], { encoding: 'utf8' }).trim()));
  const version = execFileSync(join(dir, 'bin', 'rustc'), ['--version'], { encoding: 'utf8' }).trim();
  return { dir, cargo: join(dir, 'bin', 'cargo'), version };
}

export const TARGET_TRIPLES: Record<'native' | 'wasm', string> = {
  native: 'x86_64-unknown-linux-gnu',
  wasm: 'wasm32-wasip2',
};
