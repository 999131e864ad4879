export { parseCargoManifest } from './cargo-manifest';
export { dependencyTables } from './dependency-tables';
export * from './manifest-error';
export * from './prepare-project';
export * from './prepared-project';
export { isTable, type TomlTable } from './toml-table';
