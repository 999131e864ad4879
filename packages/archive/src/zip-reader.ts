import type { Readable } from 'node:stream';
import { type Entry, getFileNameLowLevel, openPromise, type ZipFile } from 'yauzl';
import type { ArchiveBudget } from './archive-budget';
import type { ArchiveEntry } from './archive-entry';
import { ArchiveRejectedError } from './archive-rejected-error';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
// A Map, not an object literal: octal keys in an object literal get mangled by the formatter.
const UNIX_SPECIAL_TYPES = new Map<number, string>([
  [0o010000, 'FIFO'],
  [0o020000, 'character device'],
  [0o060000, 'block device'],
  [0o140000, 'socket'],
]);

/**
 * Reads a zip's central directory and hands each entry to `visit`, one at a time. yauzl reads
 * the file but never writes; names are decoded here rather than by yauzl so that an absolute or
 * escaping name reaches our checks (and our messages) instead of failing inside yauzl.
 */
export async function readZipEntries(
  archivePath: string,
  budget: ArchiveBudget,
  visit: (entry: ArchiveEntry) => Promise<void>,
): Promise<void> {
  let zip: ZipFile;
  try {
    // validateEntrySizes: yauzl also fails a stream whose size disagrees with its header.
    zip = await openPromise(archivePath, { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true });
  } catch (error) {
    throw unreadable((error as Error).message);
  }
  try {
    budget.checkDeclaredEntryCount(zip.entryCount);
    const entries = zip.eachEntry();
    for (;;) {
      const next = await entries.next().catch((error: Error) => {
        throw unreadable(error.message);
      });
      if (next.done) break;
      await visit(zipEntry(zip, next.value));
    }
  } finally {
    zip.close();
  }
}

function zipEntry(zip: ZipFile, entry: Entry): ArchiveEntry {
  // strictFileNames: keep backslashes, so the path checks see them.
  const name = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
  // The upper 16 bits hold a Unix st_mode when the zip was made on Unix; 0 otherwise.
  const mode = (entry.externalFileAttributes >>> 16) & 0xffff;
  const type = mode & S_IFMT;
  const common = {
    name,
    declaredBytes: entry.uncompressedSize,
    compressedBytes: entry.compressedSize,
    executable: (mode & 0o111) !== 0,
    openContent: () => openContent(zip, entry),
  };
  if (type === S_IFLNK) return { ...common, kind: 'symlink' };
  if (type === S_IFDIR || name.endsWith('/') || name.endsWith('\\')) return { ...common, kind: 'directory', declaredBytes: 0 };
  if (type === 0 || type === S_IFREG) return { ...common, kind: 'file' };
  return { ...common, kind: 'special', specialType: UNIX_SPECIAL_TYPES.get(type) ?? `file of type 0o${type.toString(8)}` };
}

async function openContent(zip: ZipFile, entry: Entry): Promise<AsyncIterable<Buffer>> {
  if (entry.isEncrypted()) {
    const name = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
    throw new ArchiveRejectedError('unreadable', name, 'is encrypted, which is not supported; create the zip without a password');
  }
  const stream = await zip.openReadStreamPromise(entry).catch((error: Error) => {
    throw unreadable(error.message);
  });
  return decompressed(stream);
}

/** Turns the inflate and size-check errors of an entry's stream into `unreadable`, and releases the stream however iteration stops. */
async function* decompressed(stream: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error) {
    throw unreadable((error as Error).message);
  } finally {
    stream.destroy();
  }
}

function unreadable(detail: string): ArchiveRejectedError {
  return new ArchiveRejectedError(
    'unreadable',
    undefined,
    `not a valid zip (${detail}); create it again (e.g. \`zip -r source.zip .\` in the project folder) and upload that file`,
  );
}
