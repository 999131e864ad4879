/** A TOML table as smol-toml parses it, edited in place. */
export type TomlTable = Record<string, unknown>;

/** A table (inline or not), as opposed to a value, an array or a date. */
export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The table at `key`, created empty when absent. */
export function tableAt(parent: TomlTable, key: string): TomlTable {
  const existing = parent[key];
  if (isTable(existing)) return existing;
  const created: TomlTable = {};
  parent[key] = created;
  return created;
}

/** Strings of a TOML array, ignoring anything else. */
export function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/**
 * Sets `key` as an own property even when it is `__proto__` (which smol-toml keeps as a plain
 * key): plain assignment would change the table's prototype instead.
 */
export function setEntry(table: TomlTable, key: string, value: unknown): void {
  Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
}
