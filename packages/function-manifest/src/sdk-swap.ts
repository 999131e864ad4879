import { crateNameOf, dependencyTables, describeSpec } from './dependency-tables';
import { ManifestError } from './manifest-error';
import { isTable, setEntry, type TomlTable } from './toml-table';

/** What the user may choose about the SDK dependency; everything else about it is the platform's. */
const KEPT_SDK_KEYS = ['features', 'default-features', 'default_features', 'optional'];

/**
 * Points every `ignite` dependency (normal, dev, build, per-target) at the bundled SDK:
 * `ignite = "*"`, `{ version = ... }`, `{ workspace = true }`, and also `{ git = ... }` and
 * `{ path = ... }`, because the platform always builds with the SDK it serves with. Features,
 * default-features and optional are kept. `#[ignite::main]` expands to `::ignite::...`, so the
 * SDK must be a dependency named `ignite`: a rename of it under another name is refused.
 */
export function swapInSdk(manifest: TomlTable, sdkPath: string, notes: string[]): void {
  for (const { label, entries } of dependencyTables(manifest)) {
    for (const [key, spec] of Object.entries(entries)) {
      if (key !== 'ignite') {
        if (crateNameOf(key, spec) === 'ignite') {
          throw new ManifestError(
            `Cargo.toml: ${label} ${key} = ${describeSpec(spec)} renames the ignite SDK; #[ignite::main] needs it under its own name, so declare it as ignite = "*"`,
          );
        }
        continue;
      }
      const swapped: TomlTable = { path: sdkPath };
      if (isTable(spec)) {
        for (const kept of KEPT_SDK_KEYS) if (spec[kept] !== undefined) swapped[kept] = spec[kept];
      }
      setEntry(entries, key, swapped);
      notes.push(`Cargo.toml: ${label} ignite = ${describeSpec(spec)} → ${describeSpec(swapped)} (${whySwapped(spec)})`);
    }
  }
}

function whySwapped(spec: unknown): string {
  if (isTable(spec) && (spec.git !== undefined || spec.path !== undefined || spec.registry !== undefined || spec.package !== undefined)) {
    return 'the platform always builds with its bundled SDK; the declared source is ignored';
  }
  return 'the bundled SDK';
}
