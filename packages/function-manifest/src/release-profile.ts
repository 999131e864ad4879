import type { BuildTarget } from './prepared-project';
import { isTable, type TomlTable, tableAt } from './toml-table';

/**
 * The platform's requirements on `[profile.release]` (the platform builds with `--release`).
 *
 * native: the user's settings stay, except `panic = "abort"`: the SDK's serve loop catches a
 * handler's panic to answer 500 and keep serving, which needs unwinding.
 * wasm: a small component matters more than build time, so size-oriented settings are imposed:
 * `lto = true`, `codegen-units = 1` and `strip = true` (each shrinks the component), and
 * `opt-level = "s"`. Measured on rust-hello (wasm32-wasip2, Rust 1.96): "z" 295 KB, "s" 305 KB,
 * 3 352 KB (2 345 KB), and no difference in invocation latency, which the host's JS glue
 * dominates; "s" keeps the loop optimizations "z" gives up for 3% of size, so CPU-bound
 * handlers do not pay for the last kilobytes. `panic = "abort"`: the only strategy the
 * wasm32-wasip2 standard library has (the SDK answers a panic from its panic hook, then the
 * component traps and its host replaces it).
 */
export function applyReleaseProfile(manifest: TomlTable, target: BuildTarget, notes: string[]): void {
  const profile = isTable(manifest.profile) ? manifest.profile : undefined;
  const existing = profile !== undefined && isTable(profile.release) ? profile.release : undefined;
  if (target === 'native') {
    if (existing?.panic === 'abort') {
      delete existing.panic;
      notes.push(
        'Cargo.toml: removed [profile.release] panic = "abort"; the SDK turns a panic into a 500 response and keeps serving, which needs unwinding',
      );
    }
    return;
  }
  const release = tableAt(tableAt(manifest, 'profile'), 'release');
  if (release.panic !== undefined) delete release.panic;
  Object.assign(release, WASM_RELEASE_PROFILE);
  notes.push(
    'Cargo.toml: [profile.release] set to opt-level = "s", lto = true, codegen-units = 1, strip = true, panic = "abort" for a small wasm component',
  );
}

const WASM_RELEASE_PROFILE = { 'opt-level': 's', lto: true, 'codegen-units': 1, strip: true, panic: 'abort' };
