/** What an accepted archive holds. */
export interface ArchiveSummary {
  /** Entries of every kind, macOS junk included. */
  entries: number;
  /** Uncompressed bytes of every file, macOS junk included. */
  totalBytes: number;
  /** Where Cargo.toml is: '' (the archive root) or 'folder/' (its single top-level folder). */
  projectRoot: string;
  /** Normalized paths of the regular files, relative to the archive root (so they start with `projectRoot`), sorted, macOS junk excluded. */
  files: string[];
}
