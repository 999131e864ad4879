import type { ArchiveFormat } from '../archive-format';
import { type TarEntrySpec, writeTarGz } from './tar-builder';
import { writeZip, type ZipEntrySpec } from './zip-builder';

/** An entry described once for both formats. */
export interface SpecEntry {
  path: string;
  kind?: 'file' | 'directory' | 'symlink' | 'fifo' | 'character-device';
  content?: Buffer | string;
  /** Permission bits (the type bits come from `kind`). */
  mode?: number;
  /** A symlink's target. */
  target?: string;
}

const UNIX_TYPE_BITS = { file: 0o100000, directory: 0o040000, symlink: 0o120000, fifo: 0o010000, 'character-device': 0o020000 } as const;
const TAR_TYPES = {
  file: 'File',
  directory: 'Directory',
  symlink: 'SymbolicLink',
  fifo: 'FIFO',
  'character-device': 'CharacterDevice',
} as const;

/** Writes `entries` as an archive of `format`, each entry exactly as described (no sanitizing). */
export async function writeArchive(format: ArchiveFormat, file: string, entries: SpecEntry[]): Promise<void> {
  if (format === 'tar.gz') await writeTarGz(file, entries.map(toTarEntry));
  else await writeZip(file, entries.map(toZipEntry));
}

function toTarEntry(entry: SpecEntry): TarEntrySpec {
  const kind = entry.kind ?? 'file';
  return {
    path: entry.path,
    type: TAR_TYPES[kind],
    ...(kind === 'file' ? { content: entry.content ?? '' } : {}),
    ...(entry.mode === undefined ? {} : { mode: entry.mode }),
    ...(entry.target === undefined ? {} : { linkpath: entry.target }),
  };
}

function toZipEntry(entry: SpecEntry): ZipEntrySpec {
  const kind = entry.kind ?? 'file';
  const permissions = entry.mode ?? (kind === 'directory' ? 0o755 : 0o644);
  return {
    name: kind === 'directory' && !entry.path.endsWith('/') ? `${entry.path}/` : entry.path,
    // A zip symlink stores its target as the entry's content.
    content: kind === 'symlink' ? (entry.target ?? '') : (entry.content ?? ''),
    unixMode: UNIX_TYPE_BITS[kind] | permissions,
  };
}
