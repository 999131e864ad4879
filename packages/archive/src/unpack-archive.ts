import { join } from 'node:path';
import type { ArchiveFormat } from './archive-format';
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from './archive-limits';
import type { ArchiveSummary } from './archive-summary';
import { DirectorySink } from './directory-sink';
import { walkArchive } from './walk-archive';

export interface UnpackedArchive extends ArchiveSummary {
  /** Absolute path of the folder holding Cargo.toml: `destDir`, or `destDir/<folder>`. */
  projectDir: string;
}

/**
 * Unpacks an archive into `destDir` (which must exist and be empty) with every check of
 * {@link inspectArchive} applied while streaming. On any failure, everything written so far is
 * removed and `destDir` is left empty.
 */
export async function unpackArchive(
  archivePath: string,
  format: ArchiveFormat,
  destDir: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<UnpackedArchive> {
  const sink = await DirectorySink.open(destDir);
  try {
    const summary = await walkArchive(archivePath, format, limits, sink);
    return { ...summary, projectDir: summary.projectRoot === '' ? sink.root : join(sink.root, summary.projectRoot.slice(0, -1)) };
  } catch (error) {
    await sink.clear();
    throw error;
  }
}
