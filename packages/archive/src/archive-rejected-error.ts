/** Why an archive was refused; stable values an API can map to its own error codes. */
export type ArchiveRejectionReason =
  | 'unreadable'
  | 'absolute_path'
  | 'path_traversal'
  | 'link'
  | 'special_file'
  | 'too_many_entries'
  | 'entry_too_large'
  | 'total_too_large'
  | 'compression_ratio'
  | 'no_cargo_toml'
  | 'duplicate_entry';

/**
 * The archive cannot be accepted as a function's source. The message is meant for the user who
 * uploaded it: which entry, what is wrong with it, and how to produce an archive that works.
 */
export class ArchiveRejectedError extends Error {
  /** The entry's name as written in the archive, or undefined when the archive as a whole is refused. */
  readonly entry: string | undefined;
  readonly reason: ArchiveRejectionReason;

  /** `problem` says what is wrong and how to fix it, e.g. "path escapes the archive root; remove it and archive again". */
  constructor(reason: ArchiveRejectionReason, entry: string | undefined, problem: string) {
    // JSON quoting keeps control characters (a NUL in a name) visible in logs and API answers.
    super(entry === undefined ? `archive: ${problem}` : `archive entry ${JSON.stringify(entry)}: ${problem}`);
    this.name = 'ArchiveRejectedError';
    this.entry = entry;
    this.reason = reason;
  }
}
