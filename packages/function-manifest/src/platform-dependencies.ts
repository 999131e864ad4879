import { crateNameOf, describeSpec, specTable } from './dependency-tables';
import type { BuildTarget } from './prepared-project';
import { setEntry, stringsOf, type TomlTable, tableAt } from './toml-table';

/**
 * tokio features for the function's own code, per target. Native gets a multi-threaded runtime and
 * the I/O a handler commonly needs; wasm32-wasip2 has no threads and no sockets through tokio:
 * tokio supports exactly `sync`, `macros`, `io-util`, `rt` and `time` there (the SDK runs the
 * handler on a current-thread runtime with its timer, so `tokio::time::sleep` works).
 */
const TOKIO_FEATURES: Record<BuildTarget, string[]> = {
  native: ['rt-multi-thread', 'macros', 'time', 'sync', 'fs', 'io-util', 'net'],
  wasm: ['macros', 'sync', 'io-util', 'rt', 'time'],
};

/** tokio features that fail to compile for wasm (`compile_error!` in tokio), `full` included. */
const TOKIO_NOT_ON_WASM = ['full', 'fs', 'io-std', 'net', 'process', 'rt-multi-thread', 'signal'];

/** The crates the contract provides when the user does not declare them, in the order they are added. */
export const PLATFORM_CRATES = ['serde', 'serde_json', 'tokio'] as const;
export type PlatformCrate = (typeof PLATFORM_CRATES)[number];

export function isPlatformCrate(name: string): name is PlatformCrate {
  return (PLATFORM_CRATES as readonly string[]).includes(name);
}

/** What the platform adds for `name` when the user's manifest lacks it. */
export function platformDependencySpec(name: PlatformCrate, target: BuildTarget): TomlTable | string {
  switch (name) {
    case 'serde':
      return { version: '1', features: ['derive'] };
    case 'serde_json':
      return '1';
    case 'tokio':
      return { version: '1', features: [...TOKIO_FEATURES[target]] };
  }
}

/**
 * The contract's dependency injection: `ignite`, `serde` (with derive), `serde_json` and `tokio`
 * are added to `[dependencies]` when absent; the user's own declarations of them are kept, except
 * that serde always gets its `derive` feature (handlers derive Deserialize for their input).
 * A crate counts as present under its own name or renamed (`json = { package = "serde_json" }`).
 */
export function injectPlatformDependencies(manifest: TomlTable, target: BuildTarget, sdkPath: string, notes: string[]): void {
  const dependencies = tableAt(manifest, 'dependencies');
  const keyOf = (crate: string) => Object.keys(dependencies).find((key) => crateNameOf(key, dependencies[key]) === crate);

  if (keyOf('ignite') === undefined) {
    dependencies.ignite = { path: sdkPath };
    notes.push(`Cargo.toml: added ignite = { path = ${JSON.stringify(sdkPath)} } to [dependencies] (the bundled SDK)`);
  }
  for (const crate of PLATFORM_CRATES) {
    const key = keyOf(crate);
    if (key === undefined) {
      const spec = platformDependencySpec(crate, target);
      dependencies[crate] = spec;
      notes.push(`Cargo.toml: added ${crate} = ${describeSpec(spec)} to [dependencies] (provided by the platform when absent)`);
    } else if (crate === 'serde') {
      ensureSerdeDerive(dependencies, key, notes);
    } else if (crate === 'tokio' && target === 'wasm') {
      keepTokioFeaturesWasmHas(dependencies, key, notes);
    }
  }
}

/**
 * tokio stops the build on wasm when a feature it does not support there is on (`full` is the
 * usual one), so for the wasm target those are left out (`full` becomes what tokio has on wasm).
 * Code that uses them (`tokio::net`, `tokio::fs`, ...) then fails to compile, naming what is
 * missing: on wasm the network and files are not reached through tokio.
 */
function keepTokioFeaturesWasmHas(dependencies: TomlTable, key: string, notes: string[]): void {
  const spec = specTable(dependencies[key]);
  const features = stringsOf(spec.features);
  const dropped = features.filter((feature) => TOKIO_NOT_ON_WASM.includes(feature));
  if (dropped.length === 0) return;
  const kept = features.filter((feature) => !TOKIO_NOT_ON_WASM.includes(feature));
  if (features.includes('full')) kept.push(...TOKIO_FEATURES.wasm);
  spec.features = [...new Set(kept)];
  setEntry(dependencies, key, spec);
  notes.push(
    `Cargo.toml: ${key} = ${describeSpec(spec)} (left out ${dropped.map((f) => `"${f}"`).join(', ')}: tokio supports only sync, macros, io-util, rt and time on wasm32-wasip2)`,
  );
}

function ensureSerdeDerive(dependencies: TomlTable, key: string, notes: string[]): void {
  const spec = specTable(dependencies[key]);
  if (stringsOf(spec.features).includes('derive')) return;
  spec.features = [...(Array.isArray(spec.features) ? spec.features : []), 'derive'];
  setEntry(dependencies, key, spec);
  notes.push(`Cargo.toml: ${key} = ${describeSpec(spec)} (added the "derive" feature: the contract provides serde with derive)`);
}
