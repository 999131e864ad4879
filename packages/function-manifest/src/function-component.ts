import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { HandlerLocation } from './handler-location';
import { isTable, stringsOf, type TomlTable, tableAt } from './toml-table';

/** The cargo target whose artifact is the function, for the wasm target. */
export interface FunctionComponent {
  /** The artifact's file stem: the library's crate name (`<name>.wasm`), or a bin's name. */
  binName: string;
  crateKind: 'bin' | 'cdylib';
}

/**
 * For the wasm target the artifact is a `wasi:http/proxy` component: `#[ignite::main]` exports
 * `wasi:http/incoming-handler` from the crate it is in, and that crate is built as a `cdylib` (a
 * WASI "reactor": no `main`, exactly the proxy world's export). No bin target is generated.
 *
 * - Handler in the library: `"cdylib"` is added to `[lib] crate-type` (kept as given otherwise).
 * - Handler in src/main.rs of a package without a library: a `[lib]` target is added on that
 *   same file, as a cdylib (the bin target stays, unused by the build).
 * - Handler in a bin of a package that also has a library (the bin uses it): the bin itself is
 *   built; the component then also exports `wasi:cli/run` (its `main` says it is a component and
 *   exits), which hosts ignore when serving HTTP.
 */
export async function wireFunctionComponent(
  projectDir: string,
  manifest: TomlTable,
  handler: HandlerLocation,
  packageName: string,
  notes: string[],
): Promise<FunctionComponent> {
  const defaultLibName = packageName.replaceAll('-', '_');
  if (handler.target === 'lib') {
    const lib = tableAt(manifest, 'lib');
    const key = lib['crate-type'] === undefined && lib.crate_type !== undefined ? 'crate_type' : 'crate-type';
    const declared = lib[key] === undefined ? undefined : stringsOf(lib[key]);
    if (declared === undefined || !declared.includes('cdylib')) {
      lib[key] = [...(declared ?? []), 'cdylib'];
      notes.push(
        `Cargo.toml: [lib] ${key} = ${JSON.stringify(lib[key])}: the wasm target builds the library as a component exporting wasi:http/incoming-handler`,
      );
    }
    return { binName: typeof lib.name === 'string' ? lib.name : defaultLibName, crateKind: 'cdylib' };
  }

  if (await hasLibrary(projectDir, manifest)) {
    notes.push(
      `${handler.file}: the handler is in a bin of a package that also has a library, so the bin "${handler.binName}" is built; the component exports wasi:http/incoming-handler and also wasi:cli/run`,
    );
    return { binName: handler.binName, crateKind: 'bin' };
  }
  manifest.lib = { name: defaultLibName, path: handler.file, 'crate-type': ['cdylib'], test: false, doctest: false };
  notes.push(
    `Cargo.toml: added [lib] path = "${handler.file}", crate-type = ["cdylib"]: the wasm target builds the handler's crate as a component exporting wasi:http/incoming-handler`,
  );
  return { binName: defaultLibName, crateKind: 'cdylib' };
}

/** Whether the package has a library target: declared, or src/lib.rs found by cargo's autodiscovery. */
async function hasLibrary(projectDir: string, manifest: TomlTable): Promise<boolean> {
  if (isTable(manifest.lib)) return true;
  if (isTable(manifest.package) && manifest.package.autolib === false) return false;
  return (await lstat(join(projectDir, 'src', 'lib.rs')).catch(() => undefined))?.isFile() ?? false;
}
