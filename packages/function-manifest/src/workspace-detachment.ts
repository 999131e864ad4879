import { compactSpec, dependencyTables, describeSpec, specTable } from './dependency-tables';
import { ManifestError } from './manifest-error';
import { isPlatformCrate, platformDependencySpec } from './platform-dependencies';
import type { BuildTarget } from './prepared-project';
import { isTable, setEntry, stringsOf, type TomlTable } from './toml-table';

/** Workspace keys that would make cargo look at, or build, other packages. */
const MEMBERSHIP_KEYS = ['members', 'exclude', 'default-members'];

/**
 * Makes the project a workspace of exactly one package, its own root, so that cargo never walks up
 * into a parent directory's workspace and never builds anything but the function:
 *
 * - no `[workspace]`: an empty one is added;
 * - `[workspace]` with `members`/`exclude`/`default-members`: those are removed;
 * - `{ workspace = true }` dependencies are resolved against `[workspace.dependencies]`, which is
 *   then removed. Without a matching entry, the contract's crates (serde, serde_json, tokio) get the
 *   platform's spec — so a member of a monorepo like the in-repo rust-hello fixture builds
 *   standalone — and anything else is an error. `ignite` is left to the SDK swap.
 * - `[package]` fields inherited with `field.workspace = true` keep working because
 *   `[workspace.package]` (and `[workspace.lints]`) are kept as they are: the package is the
 *   workspace root, so cargo resolves them exactly as in the user's repository. That is simpler and
 *   safer than copying values across; an inherited field with nothing to inherit is an error.
 * - `package.workspace = "../.."` (a pointer to a parent workspace) is removed.
 */
export function detachFromWorkspace(manifest: TomlTable, target: BuildTarget, notes: string[]): void {
  const existing = manifest.workspace;
  const workspace: TomlTable = isTable(existing) ? existing : {};
  const inherited = isTable(workspace.dependencies) ? workspace.dependencies : {};

  for (const { label, entries } of dependencyTables(manifest)) {
    for (const [key, spec] of Object.entries(entries)) {
      if (!isTable(spec) || spec.workspace !== true || key === 'ignite') continue;
      const fromWorkspace = inherited[key];
      if (fromWorkspace !== undefined) {
        const resolved = inherit(fromWorkspace, spec);
        setEntry(entries, key, resolved);
        notes.push(
          `Cargo.toml: ${label} ${key} = { workspace = true } resolved to ${describeSpec(resolved)} from [workspace.dependencies]`,
        );
      } else if (isPlatformCrate(key)) {
        const resolved = inherit(platformDependencySpec(key, target), spec);
        setEntry(entries, key, resolved);
        notes.push(
          `Cargo.toml: ${label} ${key} = { workspace = true } has no [workspace.dependencies] entry in the archive; using the platform's ${describeSpec(resolved)}`,
        );
      } else {
        throw new ManifestError(
          `Cargo.toml: ${label} ${key} = { workspace = true }, but the archive's Cargo.toml has no [workspace.dependencies] entry for ${key}; the archive is built on its own, so write the version in place (e.g. ${key} = "1.0")`,
        );
      }
    }
  }

  checkInheritedFields(manifest, workspace);

  const pkg = manifest.package;
  if (isTable(pkg) && pkg.workspace !== undefined) {
    notes.push(
      `Cargo.toml: removed package.workspace = ${describeSpec(pkg.workspace)}; the function is built on its own, outside any parent workspace`,
    );
    delete pkg.workspace;
  }
  const removed = MEMBERSHIP_KEYS.filter((key) => workspace[key] !== undefined);
  for (const key of removed) delete workspace[key];
  if (removed.length > 0) {
    notes.push(`Cargo.toml: removed ${removed.map((key) => `workspace.${key}`).join(', ')}; the platform builds only the root package`);
  }
  if (workspace.dependencies !== undefined) delete workspace.dependencies;
  if (!isTable(existing)) {
    manifest.workspace = workspace;
    notes.push('Cargo.toml: added an empty [workspace] so that cargo treats the function as its own workspace');
  }
}

/**
 * Cargo's inheritance: the workspace's spec, plus the member's features (added) and other keys
 * (`optional`). As in cargo, a member can turn default features on but not off: its
 * `default-features = false` is ignored when the workspace leaves them on.
 */
function inherit(fromWorkspace: unknown, member: TomlTable): TomlTable | string {
  const resolved = specTable(fromWorkspace);
  const { workspace: _workspace, features, 'default-features': defaultFeatures, default_features: legacyDefaultFeatures, ...rest } = member;
  const memberFeatures = stringsOf(features);
  if (memberFeatures.length > 0) resolved.features = [...new Set([...stringsOf(resolved.features), ...memberFeatures])];
  if ((defaultFeatures ?? legacyDefaultFeatures) === true) {
    delete resolved.default_features;
    resolved['default-features'] = true;
  }
  Object.assign(resolved, rest);
  return compactSpec(resolved);
}

function checkInheritedFields(manifest: TomlTable, workspace: TomlTable): void {
  const pkg = manifest.package;
  const fromPackage = isTable(workspace.package) ? workspace.package : {};
  if (isTable(pkg)) {
    for (const [field, value] of Object.entries(pkg)) {
      if (isTable(value) && value.workspace === true && fromPackage[field] === undefined) {
        throw new ManifestError(
          `Cargo.toml: [package] ${field}.workspace = true, but the archive's Cargo.toml has no [workspace.package] ${field}; the archive is built on its own, so write the value in place`,
        );
      }
    }
  }
  const lints = manifest.lints;
  if (isTable(lints) && lints.workspace === true && !isTable(workspace.lints)) {
    throw new ManifestError(
      "Cargo.toml: lints.workspace = true, but the archive's Cargo.toml has no [workspace.lints]; the archive is built on its own, so write the lints in place or remove the line",
    );
  }
}
