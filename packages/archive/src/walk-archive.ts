import { open, stat } from 'node:fs/promises';
import { ArchiveBudget } from './archive-budget';
import type { ArchiveEntry } from './archive-entry';
import { type ArchiveFormat, sniffArchiveFormat } from './archive-format';
import { ArchiveLayout } from './archive-layout';
import type { ArchiveLimits } from './archive-limits';
import { ArchiveRejectedError } from './archive-rejected-error';
import type { ArchiveSummary } from './archive-summary';
import { isMacOsJunk, normalizeEntryPath } from './entry-path';
import type { EntrySink } from './entry-sink';
import { findProjectRoot } from './project-root';
import { readTarGzEntries } from './tar-gz-reader';
import { readZipEntries } from './zip-reader';

/**
 * Reads a whole archive, applies every check to every entry, and passes what is accepted to
 * `sink`, in archive order. The sink sees an entry only after its path, kind, count and
 * uniqueness are checked; file content reaches it through a meter that throws the moment a
 * limit is crossed.
 */
export async function walkArchive(
  archivePath: string,
  format: ArchiveFormat,
  limits: ArchiveLimits,
  sink: EntrySink,
): Promise<ArchiveSummary> {
  const archiveBytes = await checkFormat(archivePath, format);
  const budget = new ArchiveBudget(limits, archiveBytes);
  const layout = new ArchiveLayout();

  const visit = async (entry: ArchiveEntry): Promise<void> => {
    budget.countEntry();
    const path = normalizeEntryPath(entry.name);
    refuseUnsupportedKind(entry);
    if (path === '') {
      // `./` of `tar -C dir .`: the root already exists.
      if (entry.kind === 'directory') return;
      throw new ArchiveRejectedError(
        'path_traversal',
        entry.name,
        'a file cannot be named after the archive root; remove it and archive again',
      );
    }
    const junk = isMacOsJunk(path);
    if (entry.kind === 'directory') {
      if (junk) return;
      layout.add(entry.name, path, 'directory');
      await sink.directory(path);
      return;
    }
    budget.checkDeclaredFile(entry.name, entry.declaredBytes, entry.compressedBytes);
    if (!junk) layout.add(entry.name, path, 'file');
    const meter = budget.meterFile(entry.name, entry.compressedBytes);
    const content = metered(await entry.openContent(), meter.add);
    // macOS junk is read (and so counted and checked) but never written.
    if (junk) await drain(content);
    else await sink.file(path, entry.executable, content);
    if (meter.bytes !== entry.declaredBytes) {
      throw new ArchiveRejectedError(
        'unreadable',
        entry.name,
        `holds ${meter.bytes} bytes where its header says ${entry.declaredBytes}: the archive is damaged; create it again and upload that file`,
      );
    }
  };

  if (format === 'zip') await readZipEntries(archivePath, budget, visit);
  else await readTarGzEntries(archivePath, budget, visit);

  return { entries: budget.entries, totalBytes: budget.totalBytes, projectRoot: findProjectRoot(layout), files: layout.files() };
}

/** The archive's size on disk, once its first bytes match the declared format. */
async function checkFormat(archivePath: string, format: ArchiveFormat): Promise<number> {
  const { size } = await stat(archivePath);
  const handle = await open(archivePath, 'r');
  const head = Buffer.alloc(4);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  const sniffed = sniffArchiveFormat(head.subarray(0, Math.min(size, head.length)));
  if (sniffed !== format) {
    const looksLike = sniffed === undefined ? 'neither a gzip stream nor a zip' : `it looks like a ${sniffed}`;
    throw new ArchiveRejectedError(
      'unreadable',
      undefined,
      `not a valid ${format} (${looksLike}); upload it as the kind of archive it is, or create a ${format}`,
    );
  }
  return size;
}

function refuseUnsupportedKind(entry: ArchiveEntry): void {
  switch (entry.kind) {
    case 'file':
    case 'directory':
      return;
    case 'symlink':
    case 'hardlink':
      throw new ArchiveRejectedError(
        'link',
        entry.name,
        `${entry.kind === 'symlink' ? 'symbolic' : 'hard'} links are not allowed; replace the link with a copy of what it points to (e.g. \`tar -czhf\`, or zip without --symlinks) and archive again`,
      );
    case 'special':
      throw new ArchiveRejectedError(
        'special_file',
        entry.name,
        `is a ${entry.specialType ?? 'special file'}; only regular files and folders are allowed, so remove it and archive again`,
      );
  }
}

async function* metered(content: AsyncIterable<Buffer>, count: (chunkBytes: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of content) {
    count(chunk.length);
    yield chunk;
  }
}

async function drain(content: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of content) {
    // Counting happens in `metered`.
  }
}
