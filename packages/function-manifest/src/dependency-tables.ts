import { isTable, type TomlTable } from './toml-table';

/** A dependency table of the manifest, with where it is for messages and notes. */
export interface DependencyTable {
  /** e.g. `[dependencies]`, `[target.'cfg(unix)'.dev-dependencies]`. */
  label: string;
  entries: TomlTable;
}

/** The underscore spellings are deprecated but still read by cargo, so they are handled too. */
const DEPENDENCY_KINDS = ['dependencies', 'dev-dependencies', 'dev_dependencies', 'build-dependencies', 'build_dependencies'];

/** Every dependency table present: top-level and per-target. */
export function dependencyTables(manifest: TomlTable): DependencyTable[] {
  const tables: DependencyTable[] = [];
  for (const kind of DEPENDENCY_KINDS) {
    const entries = manifest[kind];
    if (isTable(entries)) tables.push({ label: `[${kind}]`, entries });
  }
  const targets = manifest.target;
  if (isTable(targets)) {
    for (const [platform, section] of Object.entries(targets)) {
      if (!isTable(section)) continue;
      for (const kind of DEPENDENCY_KINDS) {
        const entries = section[kind];
        if (isTable(entries)) tables.push({ label: `[target.'${platform}'.${kind}]`, entries });
      }
    }
  }
  return tables;
}

/** The crate a dependency entry refers to: its `package` when renamed, else its key. */
export function crateNameOf(key: string, spec: unknown): string {
  return isTable(spec) && typeof spec.package === 'string' ? spec.package : key;
}

/** A dependency spec in table form: `"1"` is `{ version = "1" }`. */
export function specTable(spec: unknown): TomlTable {
  if (isTable(spec)) return { ...spec };
  if (typeof spec === 'string') return { version: spec };
  return {};
}

/** The shortest spelling of a spec: a bare version string when that is all it says. */
export function compactSpec(spec: TomlTable): TomlTable | string {
  const keys = Object.keys(spec);
  return keys.length === 1 && keys[0] === 'version' && typeof spec.version === 'string' ? spec.version : spec;
}

/** Renders a spec as it would read in Cargo.toml, for notes. */
export function describeSpec(spec: unknown): string {
  if (typeof spec === 'string') return JSON.stringify(spec);
  if (!isTable(spec)) return String(spec);
  const fields = Object.entries(spec).map(
    ([key, value]) =>
      `${key} = ${Array.isArray(value) ? `[${value.map((item) => JSON.stringify(item)).join(', ')}]` : JSON.stringify(value)}`,
  );
  return `{ ${fields.join(', ')} }`;
}
