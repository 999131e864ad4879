import type { ArchiveFormat } from './archive-format';
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from './archive-limits';
import type { ArchiveSummary } from './archive-summary';
import { DiscardingSink } from './entry-sink';
import { walkArchive } from './walk-archive';

/**
 * Reads the whole archive and applies every check that unpacking would, without writing
 * anything: resolves with its summary, or rejects with an ArchiveRejectedError that says which
 * entry is wrong and how to fix the archive.
 */
export async function inspectArchive(
  archivePath: string,
  format: ArchiveFormat,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
): Promise<ArchiveSummary> {
  return walkArchive(archivePath, format, limits, new DiscardingSink());
}
