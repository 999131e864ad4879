import type { ArchiveLimits } from './archive-limits';
import { RATIO_CHECK_FLOOR_BYTES } from './archive-limits';
import { ArchiveRejectedError } from './archive-rejected-error';

/** Counts the bytes of one file as they are read. */
export interface FileMeter {
  /** Bytes counted so far. */
  readonly bytes: number;
  /** Counts a chunk; throws an ArchiveRejectedError as soon as a limit is crossed. */
  add(chunkBytes: number): void;
}

/**
 * The running account of one archive against its limits. Headers only ever let an archive be
 * refused early; acceptance rests on the bytes actually decompressed, counted chunk by chunk, so
 * a lying header or a bomb is stopped as it streams, not after it is written.
 */
export class ArchiveBudget {
  private entryCount = 0;
  private fileBytes = 0;

  /** `archiveBytes`: the archive's size on disk, the denominator of the whole-archive ratio. */
  constructor(
    private readonly limits: ArchiveLimits,
    private readonly archiveBytes: number,
  ) {}

  /** Entries seen so far, of any kind. */
  get entries(): number {
    return this.entryCount;
  }

  /** Uncompressed bytes of every file read so far. */
  get totalBytes(): number {
    return this.fileBytes;
  }

  /** A zip announces its entry count up front: refuse a huge one before reading any entry. */
  checkDeclaredEntryCount(count: number): void {
    if (count > this.limits.maxEntries) throw this.tooManyEntries();
  }

  countEntry(): void {
    this.entryCount += 1;
    if (this.entryCount > this.limits.maxEntries) throw this.tooManyEntries();
  }

  /** Refuses what a header announces, before any byte of the file is read. */
  checkDeclaredFile(entry: string, declaredBytes: number, compressedBytes: number | undefined): void {
    if (declaredBytes > this.limits.maxEntryBytes) throw this.entryTooLarge(entry, `its header says ${declaredBytes} bytes`);
    if (compressedBytes !== undefined && this.exceedsRatio(declaredBytes, compressedBytes)) {
      throw this.entryRatio(entry, declaredBytes, compressedBytes);
    }
  }

  /** `compressedBytes`: the entry's own compressed size when the format has one (zip), for the per-entry ratio. */
  meterFile(entry: string, compressedBytes: number | undefined): FileMeter {
    let bytes = 0;
    return {
      get bytes() {
        return bytes;
      },
      add: (chunkBytes: number) => {
        bytes += chunkBytes;
        this.fileBytes += chunkBytes;
        if (bytes > this.limits.maxEntryBytes) throw this.entryTooLarge(entry, 'counted while unpacking');
        if (this.fileBytes > this.limits.maxTotalBytes) {
          throw new ArchiveRejectedError(
            'total_too_large',
            entry,
            `brings the unpacked size over the ${formatBytes(this.limits.maxTotalBytes)} limit for a whole archive; leave out build output (target/) and large data files, then archive again`,
          );
        }
        if (compressedBytes !== undefined && this.exceedsRatio(bytes, compressedBytes)) {
          throw this.entryRatio(entry, bytes, compressedBytes);
        }
        if (this.exceedsRatio(this.fileBytes, this.archiveBytes)) throw this.archiveRatio(this.fileBytes);
      },
    };
  }

  /**
   * Counts a tar.gz's decompressed stream (headers and padding included). Besides the ratio, the
   * stream may not grow past what its files, their headers and padding can account for, which
   * bounds the work spent on metadata blocks and on data after the end-of-archive marker.
   */
  meterDecompressedStream(): (chunkBytes: number) => void {
    const allowance = this.limits.maxTotalBytes + this.limits.maxEntries * TAR_OVERHEAD_PER_ENTRY + TAR_TRAILER_SLACK;
    let decompressed = 0;
    return (chunkBytes: number) => {
      decompressed += chunkBytes;
      if (this.exceedsRatio(decompressed, this.archiveBytes)) throw this.archiveRatio(decompressed);
      if (decompressed > allowance) {
        throw new ArchiveRejectedError(
          'total_too_large',
          undefined,
          `the tar inside the gzip is larger than ${formatBytes(allowance)}, more than its files may add up to; create the archive again with \`tar -czf\` from the project folder`,
        );
      }
    };
  }

  private exceedsRatio(uncompressed: number, compressed: number): boolean {
    return uncompressed > RATIO_CHECK_FLOOR_BYTES && uncompressed > compressed * this.limits.maxCompressionRatio;
  }

  private tooManyEntries(): ArchiveRejectedError {
    return new ArchiveRejectedError(
      'too_many_entries',
      undefined,
      `more than ${this.limits.maxEntries} entries; leave out build output (target/), .git and vendored sources, then archive again`,
    );
  }

  private entryTooLarge(entry: string, how: string): ArchiveRejectedError {
    return new ArchiveRejectedError(
      'entry_too_large',
      entry,
      `file is larger than the ${formatBytes(this.limits.maxEntryBytes)} limit for one file (${how}); remove it from the archive or make it smaller`,
    );
  }

  private entryRatio(entry: string, uncompressed: number, compressed: number): ArchiveRejectedError {
    return new ArchiveRejectedError(
      'compression_ratio',
      entry,
      `${compressed} compressed bytes unpack to more than ${uncompressed} (over ${this.limits.maxCompressionRatio}:1), which is what a decompression bomb looks like; leave generated or highly repetitive files out of the archive`,
    );
  }

  private archiveRatio(uncompressed: number): ArchiveRejectedError {
    return new ArchiveRejectedError(
      'compression_ratio',
      undefined,
      `${this.archiveBytes} bytes on disk unpack to more than ${uncompressed} (over ${this.limits.maxCompressionRatio}:1), which is what a decompression bomb looks like; leave generated or highly repetitive files out of the archive`,
    );
  }
}

/** A header block, a pax or long-name block pair, and up to a block of padding, rounded up generously. */
const TAR_OVERHEAD_PER_ENTRY = 8 * 1024;
/** End-of-archive blocks and the padding of the last record (`tar` pads to 10 KiB records). */
const TAR_TRAILER_SLACK = 1024 * 1024;

/** `64 MiB` when the value is a round number of MiB, else the exact byte count. */
export function formatBytes(bytes: number): string {
  const mib = 1024 * 1024;
  return bytes >= mib && bytes % mib === 0 ? `${bytes / mib} MiB` : `${bytes} bytes`;
}
