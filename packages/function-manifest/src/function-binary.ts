import type { HandlerLocation } from './handler-location';
import { ManifestError } from './manifest-error';
import { isTable, stringsOf, type TomlTable } from './toml-table';

/** The bin target the platform adds for a handler in the library. */
export const FUNCTION_BIN_NAME = 'ignite-function';
/** Its source, written by the platform; relative to the project folder. */
export const FUNCTION_MAIN_PATH = '.ignite/main.rs';

/** Crate types a bin of the same package can link against. */
const LINKABLE_CRATE_TYPES = ['lib', 'rlib'];

export interface FunctionBinary {
  binName: string;
  /** The content of {@link FUNCTION_MAIN_PATH}, when the platform's bin target is needed. */
  mainSource?: string;
}

/**
 * Makes sure a bin target runs the handler. A handler in a bin (src/main.rs) is a program already:
 * `#[ignite::main]` generates its `main`. A handler in the library gets a generated `main` there,
 * unused; the platform adds the bin target `ignite-function` whose main calls the library's
 * `__ignite_main()` (the expansion the SDK documents), and makes sure the library is linkable.
 */
export function wireFunctionBinary(manifest: TomlTable, handler: HandlerLocation, packageName: string, notes: string[]): FunctionBinary {
  if (handler.target === 'bin') {
    if (!handler.declared && isTable(manifest.package) && manifest.package.autobins === false) {
      binTargets(manifest).push({ name: packageName, path: 'src/main.rs' });
      notes.push(
        `Cargo.toml: added [[bin]] name = "${packageName}", path = "src/main.rs" (autobins = false would leave the handler's program out)`,
      );
    }
    return { binName: handler.binName };
  }

  const bins = binTargets(manifest);
  if (bins.some((bin) => bin.name === FUNCTION_BIN_NAME) || packageName === FUNCTION_BIN_NAME) {
    throw new ManifestError(
      `Cargo.toml: the bin target name "${FUNCTION_BIN_NAME}" is reserved for the platform's entry point of a handler in ${handler.file}; rename your [[bin]] (or package)`,
    );
  }
  bins.push({ name: FUNCTION_BIN_NAME, path: FUNCTION_MAIN_PATH, test: false, bench: false });
  notes.push(
    `Cargo.toml: added [[bin]] name = "${FUNCTION_BIN_NAME}", path = "${FUNCTION_MAIN_PATH}", which calls the serve loop #[ignite::main] generated in ${handler.file}`,
  );

  const lib = isTable(manifest.lib) ? manifest.lib : undefined;
  const crateTypeKey = lib?.['crate-type'] !== undefined ? 'crate-type' : 'crate_type';
  if (lib?.[crateTypeKey] !== undefined) {
    const crateTypes = stringsOf(lib[crateTypeKey]);
    if (!crateTypes.some((type) => LINKABLE_CRATE_TYPES.includes(type))) {
      lib[crateTypeKey] = [...crateTypes, 'rlib'];
      notes.push(
        `Cargo.toml: added "rlib" to [lib] ${crateTypeKey} (was ${JSON.stringify(crateTypes)}) so that the function's bin target can link the library`,
      );
    }
  }

  const libCrateName = typeof lib?.name === 'string' ? lib.name : packageName.replaceAll('-', '_');
  return {
    binName: FUNCTION_BIN_NAME,
    mainSource: `// Written by the Ignite compile step: the entry point of a function whose handler is in the library.\nfn main() {\n    ${libCrateName}::__ignite_main()\n}\n`,
  };
}

/** The manifest's `[[bin]]` array, created when absent. */
function binTargets(manifest: TomlTable): TomlTable[] {
  if (!Array.isArray(manifest.bin)) manifest.bin = [];
  return manifest.bin as TomlTable[];
}
