import { readFile } from 'node:fs/promises';
import { posix, resolve, sep } from 'node:path';
import { ManifestError } from './manifest-error';
import { codeOnly } from './rust-source';
import { isTable, type TomlTable } from './toml-table';

/** Where `#[ignite::main]` is, and which cargo target compiles that file. */
export type HandlerLocation =
  | { file: string; target: 'lib' }
  /** `declared`: a `[[bin]]` of the manifest; otherwise cargo's automatic bin for src/main.rs. */
  | { file: string; target: 'bin'; binName: string; declared: boolean };

/** `#[ignite::main]`, `#[::ignite::main]`, `#[ignite::main()]`, with any whitespace. */
const HANDLER_ATTRIBUTE = /#\s*\[\s*(?:::\s*)?ignite\s*::\s*main\s*(?:\(\s*\))?\s*\]/;

const ATTRIBUTE_EXAMPLE = '#[ignite::main] async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse>';

interface Candidate {
  file: string;
  location: HandlerLocation;
}

/**
 * Finds the one file holding `#[ignite::main]` among the crate roots cargo would compile: the bin
 * targets (src/main.rs first) and then the library (`[lib] path`, default src/lib.rs). Paths that
 * point outside the project are not looked at. None, or more than one, is a ManifestError.
 */
export async function locateHandler(projectDir: string, manifest: TomlTable, packageName: string): Promise<HandlerLocation> {
  const found: HandlerLocation[] = [];
  for (const candidate of candidates(manifest, packageName)) {
    const source = await readInside(projectDir, candidate.file);
    if (source !== undefined && HANDLER_ATTRIBUTE.test(codeOnly(source))) found.push(candidate.location);
  }
  const [handler, ...others] = found;
  if (handler === undefined) {
    throw new ManifestError(`no function annotated with #[ignite::main] in src/lib.rs or src/main.rs; add \`${ATTRIBUTE_EXAMPLE}\``);
  }
  if (others.length > 0) {
    throw new ManifestError(
      `#[ignite::main] appears in ${found.map((location) => location.file).join(' and ')}; a function has exactly one handler, so keep the attribute in one file`,
    );
  }
  return handler;
}

function candidates(manifest: TomlTable, packageName: string): Candidate[] {
  const list: Candidate[] = [];
  const bins = Array.isArray(manifest.bin) ? manifest.bin.filter(isTable) : [];
  for (const bin of bins) {
    const name = typeof bin.name === 'string' ? bin.name : packageName;
    const file = typeof bin.path === 'string' ? bin.path : name === packageName ? 'src/main.rs' : `src/bin/${name}.rs`;
    list.push({ file, location: { file: normalized(file), target: 'bin', binName: name, declared: true } });
  }
  if (!list.some((candidate) => normalized(candidate.file) === 'src/main.rs')) {
    list.push({ file: 'src/main.rs', location: { file: 'src/main.rs', target: 'bin', binName: packageName, declared: false } });
  }
  // src/main.rs first, as cargo users expect it to win over other bins.
  list.sort((a, b) => Number(normalized(b.file) === 'src/main.rs') - Number(normalized(a.file) === 'src/main.rs'));
  const lib = isTable(manifest.lib) ? manifest.lib : {};
  const libFile = typeof lib.path === 'string' ? lib.path : 'src/lib.rs';
  list.push({ file: libFile, location: { file: normalized(libFile), target: 'lib' } });
  return list;
}

/** The file's text, or undefined when it is absent or outside the project. */
async function readInside(projectDir: string, file: string): Promise<string | undefined> {
  const root = resolve(projectDir);
  const absolute = resolve(root, file);
  if (!absolute.startsWith(root + sep)) return undefined;
  try {
    return await readFile(absolute, 'utf8');
  } catch {
    return undefined;
  }
}

/** `./src//lib.rs` → `src/lib.rs`, for comparisons and messages. */
function normalized(file: string): string {
  return posix.normalize(file.replaceAll('\\', '/'));
}
