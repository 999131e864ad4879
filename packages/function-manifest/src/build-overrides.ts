import { lstat, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isTable, type TomlTable } from './toml-table';

/**
 * Files in the archive that would change how cargo builds, relative to the project folder.
 * `.cargo/config*` can redirect the target dir, the linker, the registries and rustflags;
 * `rust-toolchain*` would ask for another toolchain. The platform's build is fixed.
 */
const IGNORED_BUILD_FILES = [
  { path: '.cargo/config.toml', why: 'cargo configuration (target dir, linker, registries, rustflags) is the platform’s' },
  { path: '.cargo/config', why: 'cargo configuration (target dir, linker, registries, rustflags) is the platform’s' },
  { path: 'rust-toolchain.toml', why: 'the platform builds with its own fixed Rust toolchain' },
  { path: 'rust-toolchain', why: 'the platform builds with its own fixed Rust toolchain' },
];

/** Removes the files above from the project, noting each one. */
export async function removeBuildOverrides(projectDir: string, notes: string[]): Promise<void> {
  for (const { path, why } of IGNORED_BUILD_FILES) {
    const absolute = join(projectDir, path);
    // lstat: a link is removed itself, never followed.
    if (!(await lstat(absolute).catch(() => undefined))) continue;
    await rm(absolute, { recursive: true, force: true });
    notes.push(`${path}: ignored and removed; ${why}`);
  }
}

/** The build script cargo will run, if any: `package.build`, or build.rs by convention. */
export async function noteBuildScript(projectDir: string, manifest: TomlTable, notes: string[]): Promise<void> {
  const declared = isTable(manifest.package) ? manifest.package.build : undefined;
  if (declared === false) return;
  const script = typeof declared === 'string' ? declared : 'build.rs';
  if (typeof declared !== 'string' && !(await lstat(join(projectDir, script)).catch(() => undefined))) return;
  notes.push(`${script}: kept; build scripts run inside the isolated, time-limited build like the rest of the compilation`);
}
