/** What an entry claims to be. Only files and directories are ever accepted. */
export type ArchiveEntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'special';

/** One entry as a format reader presents it to the checks, before anything is trusted. */
export interface ArchiveEntry {
  /** The name exactly as stored in the archive. */
  name: string;
  kind: ArchiveEntryKind;
  /** For `special` entries, what they are ("character device", "FIFO", ...), for the message. */
  specialType?: string;
  /** The uncompressed size the header announces; never trusted, only used to refuse early. */
  declaredBytes: number;
  /** The entry's own compressed size, where the format stores one (zip). */
  compressedBytes?: number;
  /** Whether any execute bit is set in the stored mode. */
  executable: boolean;
  /** The content, decompressed. Only called for files, at most once. */
  openContent(): Promise<AsyncIterable<Buffer>>;
}
