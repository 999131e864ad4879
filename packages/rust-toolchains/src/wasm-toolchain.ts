import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { WasmToolchainManifestSchema } from '@ignite/contracts';
import type { RustToolchain } from './rust-toolchain';

export const WASM_TARGET = 'wasm32-wasip2';

/** How wasm32-wasip2 is built: a toolchain with the target prebuilt, or the one provisioning assembled. */
export type WasmToolchainMode = 'auto' | 'prebuilt' | 'build-std';

/**
 * A toolchain that builds wasm32-wasip2 components, as the local executor runs it: cargo with
 * this environment, `--target wasm32-wasip2`.
 */
export interface WasmToolchain {
  kind: 'prebuilt' | 'build-std';
  cargo: string;
  /** `rustc --version` of the rustc that builds the component, recorded on the build. */
  version: string;
  /** Set for cargo: `RUSTC`, `CARGO_ENCODED_RUSTFLAGS` (sysroot, linker) when needed. */
  env: Record<string, string>;
  /** `PATH` entries before /usr/bin:/bin (where the toolchain's own tools are). */
  path: string[];
  /** Directories a sandboxed build must see, read-only. */
  readOnlyPaths: string[];
}

export interface WasmToolchainOptions {
  mode: WasmToolchainMode;
  /** The native toolchain: used for wasm when it has the target prebuilt. */
  native: RustToolchain;
  /** `$IGNITE_CACHE_HOME` (default `~/.cache/ignite`): where provisioning put a build-std toolchain. */
  cacheHome: string;
}

/** The toolchain is missing or broken on this machine: what is wrong and how to provision it. */
export class ToolchainError extends Error {}

const NOT_PROVISIONED_FIX =
  'provision it with `npm start` or `npm test` (scripts/platform/toolchains.mts ensureWasmToolchain), or use a Rust toolchain with `rustup target add wasm32-wasip2`';

export function defaultCacheHome(): string {
  return process.env.IGNITE_CACHE_HOME || join(homedir(), '.cache', 'ignite');
}

/** Whether the toolchain's sysroot has the wasm32-wasip2 standard library (`rustup target add wasm32-wasip2`). */
export function hasPrebuiltWasmTarget(toolchain: RustToolchain): boolean {
  try {
    const sysroot = execFileSync(join(toolchain.dir, 'bin', 'rustc'), ['--print', 'sysroot'], { encoding: 'utf8' }).trim();
    return existsSync(join(sysroot, 'lib', 'rustlib', WASM_TARGET, 'lib'));
  } catch {
    return false;
  }
}

/**
 * The toolchain wasm builds use. `prebuilt`: the native toolchain, which must have the target
 * (rustup ships its linker, wasm-component-ld, beside rustc). `build-std`: the one provisioning
 * assembled (Debian's rustc with a standard library built once, `--sysroot`). `auto`: prebuilt
 * when the native toolchain has the target, else build-std. A missing toolchain is an
 * infrastructure failure that says how to provision it.
 */
export function resolveWasmToolchain(options: WasmToolchainOptions): WasmToolchain {
  if (options.mode !== 'build-std' && hasPrebuiltWasmTarget(options.native)) {
    return {
      kind: 'prebuilt',
      cargo: options.native.cargo,
      version: options.native.version,
      env: {},
      path: [join(options.native.dir, 'bin')],
      readOnlyPaths: [options.native.dir],
    };
  }
  if (options.mode === 'prebuilt') {
    throw new ToolchainError(
      `the wasm target is configured as prebuilt (WASM_TOOLCHAIN=prebuilt) but ${options.native.version} at ${options.native.dir} has no ${WASM_TARGET} standard library: rustup target add ${WASM_TARGET}`,
    );
  }
  const manifestPath = join(options.cacheHome, 'wasm-toolchain', 'toolchain.json');
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch {
    throw new ToolchainError(`no ${WASM_TARGET} toolchain on this build machine (no ${manifestPath}): ${NOT_PROVISIONED_FIX}`);
  }
  const parsed = WasmToolchainManifestSchema.safeParse(parseJson(text));
  if (!parsed.success || !existsSync(parsed.data.sysroot) || !existsSync(parsed.data.rustc)) {
    throw new ToolchainError(`the ${WASM_TARGET} toolchain described by ${manifestPath} is incomplete: ${NOT_PROVISIONED_FIX}`);
  }
  const manifest = parsed.data;
  let version: string;
  try {
    version = execFileSync(manifest.rustc, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    throw new ToolchainError(`${manifest.rustc} (the ${WASM_TARGET} toolchain's rustc) does not run: ${NOT_PROVISIONED_FIX}`);
  }
  if (version !== manifest.version) {
    // Its standard library was built by another rustc: rustc would refuse it.
    throw new ToolchainError(
      `the ${WASM_TARGET} standard library was built with ${manifest.version}, but ${manifest.rustc} is now ${version}: ${NOT_PROVISIONED_FIX}`,
    );
  }
  return {
    kind: 'build-std',
    cargo: manifest.cargo,
    version,
    env: { RUSTC: manifest.rustc, CARGO_ENCODED_RUSTFLAGS: manifest.rustflags.join('\x1f') },
    path: [],
    readOnlyPaths: manifest.readOnlyPaths,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
