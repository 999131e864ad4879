/** Bounds on what an archive may hold once unpacked. Every bound is enforced on bytes actually read. */
export interface ArchiveLimits {
  /** Entries of any kind (files, directories, and anything refused), counted as they are read. */
  maxEntries: number;
  /** Uncompressed bytes of a single file. */
  maxEntryBytes: number;
  /** Uncompressed bytes of all files together. */
  maxTotalBytes: number;
  /**
   * Uncompressed bytes per byte of archive on disk, for the whole archive and, in a zip, per entry.
   * Only checked once the uncompressed side passes {@link RATIO_CHECK_FLOOR_BYTES}.
   */
  maxCompressionRatio: number;
}

const MIB = 1024 * 1024;

/** Generous for a Rust function's source (vendored crates included), far below what hurts a build machine. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  maxEntries: 10_000,
  maxEntryBytes: 64 * MIB,
  maxTotalBytes: 256 * MIB,
  maxCompressionRatio: 200,
});

/**
 * Small inputs compress absurdly well (a tar of one short file is mostly zero padding: 10 KiB that
 * gzips to 100 bytes), so a ratio only means "bomb" once there is real volume behind it.
 */
export const RATIO_CHECK_FLOOR_BYTES = 1 * MIB;
