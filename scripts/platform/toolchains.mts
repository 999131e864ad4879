// What builds need on this machine: a Rust toolchain (rustup's, on these machines) and
// bubblewrap, the build sandbox (installed from Debian when missing); for the `wasm` target,
// a toolchain that builds wasm32-wasip2 components (`ensureWasmToolchain`).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { WasmToolchainManifest } from '../../packages/contracts/src/toolchain.ts';
import { aptInstall, capture, commandExists, run } from './exec.mts';
import { ProvisionError, say } from './log.mts';

export async function ensureBuildTools(): Promise<void> {
  if (!commandExists('cargo') || !commandExists('rustup')) {
    throw new ProvisionError(
      'No Rust toolchain: `cargo` and `rustup` are not on PATH. Builds need Rust (the platform targets 1.93 or later).',
      'install Rust with rustup, then run `rustup default stable`',
    );
  }
  if (!commandExists('bwrap')) {
    say('bubblewrap (the build sandbox) is not installed; installing it from Debian packages');
    if (!(await aptInstall(['bubblewrap']))) {
      throw new ProvisionError('bubblewrap is not installed and could not be installed.', 'apt-get install -y bubblewrap');
    }
  }
}

/**
 * The console's browser tests drive Debian's Chromium (playwright-core, which downloads no
 * browser): installed from Debian when missing. Only `npm test` needs it.
 */
export async function ensureBrowser(): Promise<void> {
  if (commandExists('chromium')) return;
  say("Chromium (for the console's browser tests) is not installed; installing it from Debian packages");
  if (!(await aptInstall(['chromium', 'fonts-dejavu-core']))) {
    throw new ProvisionError('Chromium is not installed and could not be installed.', 'apt-get install -y chromium');
  }
}

// ---------------------------------------------------------------- the wasm toolchain
//
// The `wasm` target builds `wasm32-wasip2` components. With a Rust toolchain that has the target
// prebuilt (`rustup target add wasm32-wasip2`, as in the production compile image) nothing more
// is needed: rustup ships its linker, `wasm-component-ld`. Where rustup cannot download the
// target (these machines), the toolchain is assembled once from Debian packages and cached:
//
// - Debian's `rustc-web` (its own rustc/cargo in /usr/bin) and `rust-web-src` (the standard
//   library's sources), `wasi-libc` (WASI preview 1 libc, crt1)
//   and `lld-22` (`wasm-ld-22`);
// - `wasm-component-ld` (the linker that makes a component out of the core module), installed
//   with `cargo install` into the cache;
// - the standard library for wasm32-wasip2, built ONCE from those sources (`-Zbuild-std`, about
//   two minutes on two cores) into a sysroot next to the libc and a few pthread stubs that old
//   libc lacks. User builds then use it like a prebuilt target (`--sysroot`): they never
//   rebuild the standard library and need no unstable features. (The standard library's own
//   dependencies are fetched from crates.io for that one build.)
//
// The result is described by `<cache>/wasm-toolchain/toolchain.json`, which the compile worker
// reads (apps/compile-worker/src/executors/wasm-toolchain.ts).

const WASM_TARGET = 'wasm32-wasip2';
/** Changes when the layout of the built toolchain changes (forces a rebuild). */
const TOOLCHAIN_LAYOUT = 1;
const WASM_COMPONENT_LD_VERSION = '0.5.21';

const DEBIAN = {
  rustc: '/usr/bin/rustc',
  cargo: '/usr/bin/cargo',
  stdSources: '/usr/lib/rustlib/src/rust/library',
  libcDir: '/usr/lib/wasm32-wasi',
  wasmLd: '/usr/bin/wasm-ld-22',
};
const DEBIAN_PACKAGES = ['rustc-web', 'cargo-web', 'rust-web-src', 'wasi-libc', 'lld-22'];

/** pthread entry points that newer wasi-libc ships as single-threaded stubs and the 2022 one lacks. */
const PTHREAD_STUBS = `//! pthread entry points for single-threaded wasm32-wasi (newer wasi-libc ships these stubs).
#![no_std]
#![allow(non_camel_case_types, clippy::missing_safety_doc)]
type c_int = i32;
const ENOTSUP: c_int = 58;
const EINVAL: c_int = 28;
const EAGAIN: c_int = 6;
static mut SELF: u8 = 0;
#[no_mangle] pub extern "C" fn pthread_self() -> *mut u8 { core::ptr::addr_of_mut!(SELF) }
#[no_mangle] pub extern "C" fn pthread_create(_t: *mut *mut u8, _a: *const u8, _f: usize, _arg: *mut u8) -> c_int { ENOTSUP }
#[no_mangle] pub extern "C" fn pthread_equal(a: *mut u8, b: *mut u8) -> c_int { (a == b) as c_int }
#[no_mangle] pub extern "C" fn pthread_join(_t: *mut u8, _r: *mut *mut u8) -> c_int { EINVAL }
#[no_mangle] pub extern "C" fn pthread_detach(_t: *mut u8) -> c_int { 0 }
#[no_mangle] pub extern "C" fn pthread_attr_init(_a: *mut u8) -> c_int { 0 }
#[no_mangle] pub extern "C" fn pthread_attr_destroy(_a: *mut u8) -> c_int { 0 }
#[no_mangle] pub extern "C" fn pthread_attr_setstacksize(_a: *mut u8, _s: usize) -> c_int { 0 }
#[no_mangle] pub unsafe extern "C" fn pthread_attr_getstacksize(_a: *const u8, s: *mut usize) -> c_int { if !s.is_null() { *s = 1 << 20; } 0 }
#[no_mangle] pub extern "C" fn pthread_attr_setdetachstate(_a: *mut u8, _d: c_int) -> c_int { 0 }
const KEYS: usize = 128;
static mut VALUES: [*const u8; KEYS] = [core::ptr::null(); KEYS];
static mut USED: [bool; KEYS] = [false; KEYS];
#[no_mangle] pub unsafe extern "C" fn pthread_key_create(key: *mut u32, _dtor: usize) -> c_int {
    let used = &mut *core::ptr::addr_of_mut!(USED);
    for (i, slot) in used.iter_mut().enumerate() { if !*slot { *slot = true; *key = i as u32; return 0; } }
    EAGAIN
}
#[no_mangle] pub unsafe extern "C" fn pthread_key_delete(key: u32) -> c_int {
    let i = key as usize; if i >= KEYS { return EINVAL; }
    (*core::ptr::addr_of_mut!(USED))[i] = false; (*core::ptr::addr_of_mut!(VALUES))[i] = core::ptr::null(); 0
}
#[no_mangle] pub unsafe extern "C" fn pthread_getspecific(key: u32) -> *const u8 {
    let i = key as usize; if i >= KEYS { return core::ptr::null(); } (*core::ptr::addr_of!(VALUES))[i]
}
#[no_mangle] pub unsafe extern "C" fn pthread_setspecific(key: u32, value: *const u8) -> c_int {
    let i = key as usize; if i >= KEYS { return EINVAL; } (*core::ptr::addr_of_mut!(VALUES))[i] = value; 0
}
`;

export function wasmToolchainDir(cacheHome: string): string {
  return join(cacheHome, 'wasm-toolchain');
}

function defaultCacheHome(): string {
  return process.env.IGNITE_CACHE_HOME || join(homedir(), '.cache', 'ignite');
}

/** `rustc --print sysroot` of the default toolchain has the wasm32-wasip2 standard library. */
function prebuiltTarget(): string | null {
  const sysroot = capture('rustc', ['--print', 'sysroot']);
  if (sysroot.code !== 0) return null;
  const dir = join(sysroot.stdout.trim(), 'lib', 'rustlib', WASM_TARGET, 'lib');
  return existsSync(dir) ? capture('rustc', ['--version']).stdout.trim() : null;
}

function sha256(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/**
 * Makes sure wasm32-wasip2 components can be built. `WASM_TOOLCHAIN` picks how: `prebuilt` (the
 * default Rust toolchain has the target), `build-std` (assembled here from Debian packages, see
 * above) or `auto` (the default: prebuilt when present). Idempotent; a second run takes a second.
 * Returns the manifest of a `build-std` toolchain, or null when the prebuilt target is used.
 */
export async function ensureWasmToolchain(cacheHome: string = defaultCacheHome()): Promise<WasmToolchainManifest | null> {
  const mode = process.env.WASM_TOOLCHAIN || 'auto';
  if (!['auto', 'prebuilt', 'build-std'].includes(mode)) {
    throw new ProvisionError(`WASM_TOOLCHAIN must be auto, prebuilt or build-std, not "${mode}".`, 'unset WASM_TOOLCHAIN');
  }
  if (mode !== 'build-std') {
    const prebuilt = prebuiltTarget();
    if (prebuilt !== null) {
      say(`wasm: ${WASM_TARGET} is prebuilt in the default Rust toolchain (${prebuilt}); using it`);
      return null;
    }
    if (mode === 'prebuilt') {
      throw new ProvisionError(
        `WASM_TOOLCHAIN=prebuilt, but the default Rust toolchain has no ${WASM_TARGET} standard library.`,
        `rustup target add ${WASM_TARGET} (or WASM_TOOLCHAIN=build-std to build it from Debian's sources)`,
      );
    }
  }
  return ensureBuildStdToolchain(cacheHome);
}

async function ensureDebianPackages(): Promise<void> {
  const missing = [
    DEBIAN.rustc,
    DEBIAN.cargo,
    join(DEBIAN.stdSources, 'std', 'Cargo.toml'),
    join(DEBIAN.libcDir, 'libc.a'),
    DEBIAN.wasmLd,
  ].filter((path) => !existsSync(path));
  if (missing.length === 0) return;
  say(`wasm: installing ${DEBIAN_PACKAGES.join(', ')} from Debian (missing: ${missing.join(', ')})`);
  if (!(await aptInstall(DEBIAN_PACKAGES))) {
    throw new ProvisionError(
      `The wasm toolchain needs Debian packages that are not installed: ${DEBIAN_PACKAGES.join(', ')}.`,
      `apt-get install -y ${DEBIAN_PACKAGES.join(' ')}`,
    );
  }
}

async function ensureWasmComponentLd(toolsDir: string): Promise<string> {
  const linker = join(toolsDir, 'bin', 'wasm-component-ld');
  const installed = existsSync(linker) ? capture(linker, ['--version']).stdout.trim() : '';
  if (installed === `wasm-component-ld ${WASM_COMPONENT_LD_VERSION}`) return linker;
  say(`wasm: installing wasm-component-ld ${WASM_COMPONENT_LD_VERSION} into ${toolsDir} (cargo install, a few minutes, once)`);
  const code = await run('cargo', ['install', `wasm-component-ld@${WASM_COMPONENT_LD_VERSION}`, '--locked', '--root', toolsDir]);
  if (code !== 0 || !existsSync(linker)) {
    throw new ProvisionError(
      'wasm-component-ld (the linker of wasm32-wasip2 components) could not be installed.',
      `cargo install wasm-component-ld@${WASM_COMPONENT_LD_VERSION} --locked --root ${toolsDir}`,
    );
  }
  return linker;
}

async function ensureBuildStdToolchain(cacheHome: string): Promise<WasmToolchainManifest> {
  await ensureDebianPackages();
  const root = wasmToolchainDir(cacheHome);
  mkdirSync(root, { recursive: true });
  const linker = await ensureWasmComponentLd(join(root, 'tools'));

  const rustcInfo = capture(DEBIAN.rustc, ['-vV']);
  if (rustcInfo.code !== 0)
    throw new ProvisionError(`${DEBIAN.rustc} does not run: ${rustcInfo.stderr.trim()}`, 'apt-get install --reinstall rustc-web');
  const version = capture(DEBIAN.rustc, ['--version']).stdout.trim();
  const key = sha256(
    String(TOOLCHAIN_LAYOUT),
    rustcInfo.stdout,
    readFileSync(join(DEBIAN.libcDir, 'libc.a')),
    PTHREAD_STUBS,
    capture(linker, ['--version']).stdout,
  ).slice(0, 16);
  const dir = join(root, key);
  const manifestPath = join(root, 'toolchain.json');
  const sysroot = join(dir, 'sysroot');
  const libDir = join(sysroot, 'lib', 'rustlib', WASM_TARGET, 'lib');
  const stubs = join(libDir, 'self-contained', 'ignite-wasi-stubs.o');
  const manifest = (stdBuildSeconds: number): WasmToolchainManifest => ({
    layout: TOOLCHAIN_LAYOUT,
    kind: 'build-std',
    target: WASM_TARGET,
    rustc: DEBIAN.rustc,
    cargo: DEBIAN.cargo,
    version,
    sysroot,
    rustflags: [
      '--sysroot',
      sysroot,
      '-C',
      `linker=${linker}`,
      '-C',
      `link-arg=--wasm-ld-path=${DEBIAN.wasmLd}`,
      '-C',
      `link-arg=${stubs}`,
    ],
    readOnlyPaths: [root],
    stdBuildSeconds,
  });

  if (existsSync(join(dir, 'complete'))) {
    const current = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as WasmToolchainManifest) : null;
    if (current?.sysroot !== sysroot) {
      const seconds = Number(readFileSync(join(dir, 'complete'), 'utf8')) || 0;
      writeFileSync(manifestPath, `${JSON.stringify(manifest(seconds), null, 2)}\n`);
    }
    say(`wasm: ${WASM_TARGET} toolchain ready (${version}, standard library built earlier, in ${dir})`);
    return JSON.parse(readFileSync(manifestPath, 'utf8')) as WasmToolchainManifest;
  }

  say(`wasm: building the ${WASM_TARGET} standard library with ${version}, once (about two minutes on two cores)`);
  const work = join(root, `.build-${process.pid}`);
  const staging = `${dir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(work, 'std', 'src'), { recursive: true });
  const started = Date.now();
  try {
    // A crate that uses std, built with -Zbuild-std: its dependencies are the standard library.
    writeFileSync(
      join(work, 'std', 'Cargo.toml'),
      [
        '[package]',
        'name = "ignite-wasm-std"',
        'version = "0.0.0"',
        'edition = "2021"',
        '',
        '[lib]',
        'path = "src/lib.rs"',
        '',
        '[profile.release]',
        'opt-level = 3',
        'debug = false',
        'panic = "abort"',
        '',
        '[workspace]',
        '',
      ].join('\n'),
    );
    writeFileSync(join(work, 'std', 'src', 'lib.rs'), 'pub fn touch() -> usize { std::env::args().count() }\n');
    const targetDir = join(work, 'target');
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      RUSTC: DEBIAN.rustc,
      RUSTC_BOOTSTRAP: '1',
      CARGO_HOME: join(root, 'cargo-home'),
      CARGO_TARGET_DIR: targetDir,
      // Bitcode and object code both: user builds link std with and without LTO.
      CARGO_ENCODED_RUSTFLAGS: ['-C', 'embed-bitcode=yes'].join('\x1f'),
    };
    delete env.RUSTFLAGS;
    const code = await run(
      DEBIAN.cargo,
      // std's own dependencies (pinned by its Cargo.lock) come from crates.io: Debian's vendored
      // copies lack the prebuilt objects some of them ship (wit-bindgen's cabi_realloc).
      ['build', '--release', '-Zbuild-std=std,panic_abort', '--target', WASM_TARGET, '--manifest-path', join(work, 'std', 'Cargo.toml')],
      { env },
    );
    if (code !== 0) {
      throw new ProvisionError(
        `Building the ${WASM_TARGET} standard library failed (cargo exited with ${code}).`,
        'see the cargo output above',
      );
    }
    const deps = join(targetDir, WASM_TARGET, 'release', 'deps');
    const rlibs = readdirSync(deps).filter((name) => name.endsWith('.rlib') && !name.startsWith('libignite_wasm_std'));
    if (!rlibs.some((name) => name.startsWith('libstd-'))) {
      throw new ProvisionError(
        `The ${WASM_TARGET} standard library build produced no libstd.`,
        'rm -rf the wasm-toolchain cache and retry',
      );
    }
    const stagingLib = join(staging, 'sysroot', 'lib', 'rustlib', WASM_TARGET, 'lib');
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(join(stagingLib, 'self-contained'), { recursive: true });
    for (const name of rlibs) copyFileSync(join(deps, name), join(stagingLib, name));
    for (const name of ['crt1-command.o', 'crt1-reactor.o', 'libc.a']) {
      copyFileSync(join(DEBIAN.libcDir, name), join(stagingLib, 'self-contained', name));
    }
    const stubsSource = join(work, 'stubs.rs');
    writeFileSync(stubsSource, PTHREAD_STUBS);
    const stubsObject = join(stagingLib, 'self-contained', 'ignite-wasi-stubs.o');
    const stubsBuilt = capture(DEBIAN.rustc, [
      '--edition',
      '2021',
      '--crate-type',
      'lib',
      '--crate-name',
      'ignite_wasi_stubs',
      '--emit',
      `obj=${stubsObject}`,
      '-C',
      'opt-level=2',
      '-C',
      'panic=abort',
      '--target',
      WASM_TARGET,
      '--sysroot',
      join(staging, 'sysroot'),
      stubsSource,
    ]);
    if (stubsBuilt.code !== 0) throw new ProvisionError(`Compiling the pthread stubs failed: ${stubsBuilt.stderr.trim()}`);
    const seconds = Math.round((Date.now() - started) / 1000);
    writeFileSync(join(staging, 'complete'), String(seconds));
    renameSync(staging, dir);
    await smokeTest(manifest(seconds), work);
    writeFileSync(manifestPath, `${JSON.stringify(manifest(seconds), null, 2)}\n`);
    say(`wasm: standard library built in ${seconds} s; toolchain described in ${manifestPath}`);
    return manifest(seconds);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Links a tiny library into a component with the new toolchain: a broken toolchain fails here, not in a user's build. */
async function smokeTest(manifest: WasmToolchainManifest, work: string): Promise<void> {
  const crate = join(work, 'smoke');
  mkdirSync(join(crate, 'src'), { recursive: true });
  writeFileSync(
    join(crate, 'Cargo.toml'),
    '[package]\nname = "smoke"\nversion = "0.0.0"\nedition = "2021"\n\n[lib]\ncrate-type = ["cdylib"]\n\n[profile.release]\nlto = true\npanic = "abort"\n\n[workspace]\n',
  );
  writeFileSync(
    join(crate, 'src', 'lib.rs'),
    '#[no_mangle]\npub extern "C" fn smoke() -> usize { std::env::vars().count() + std::thread::spawn(|| 1).join().unwrap_or(0) }\n',
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RUSTC: manifest.rustc,
    CARGO_TARGET_DIR: join(work, 'smoke-target'),
    CARGO_ENCODED_RUSTFLAGS: manifest.rustflags.join('\x1f'),
  };
  delete env.RUSTFLAGS;
  const built = capture(
    manifest.cargo,
    ['build', '--release', '--offline', '--target', manifest.target, '--manifest-path', join(crate, 'Cargo.toml')],
    {
      env,
    },
  );
  const output = join(work, 'smoke-target', manifest.target, 'release', 'smoke.wasm');
  const header = existsSync(output) && statSync(output).size >= 8 ? readFileSync(output).subarray(0, 8) : Buffer.alloc(0);
  // A component: `\0asm`, then version 0x0d and layer 1.
  if (built.code !== 0 || !header.equals(Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]))) {
    throw new ProvisionError(
      `The new wasm toolchain could not link a component: ${(built.stderr || 'no component produced').trim().split('\n').slice(-5).join(' | ')}`,
      `rm -rf ${manifest.sysroot}/../.. and retry; check that ${DEBIAN.wasmLd} runs`,
    );
  }
}
