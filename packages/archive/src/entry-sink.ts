/** Where accepted entries go: nowhere (inspection) or into a directory (unpacking). */
export interface EntrySink {
  /** A directory at a normalized relative path. */
  directory(path: string): Promise<void>;
  /** A regular file at a normalized relative path; `content` must be consumed to its end. */
  file(path: string, executable: boolean, content: AsyncIterable<Buffer>): Promise<void>;
}

/** Reads every file to its end (so every byte is counted and checked) and keeps nothing. */
export class DiscardingSink implements EntrySink {
  async directory(): Promise<void> {}

  async file(_path: string, _executable: boolean, content: AsyncIterable<Buffer>): Promise<void> {
    for await (const _chunk of content) {
      // The metering wrapped around `content` does the work.
    }
  }
}
