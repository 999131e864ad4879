import type { Readable } from 'node:stream';

/** What `put` stored: the content address and the size in bytes. */
export interface StoredBlob {
  sha256: string;
  size: number;
}

/**
 * Content-addressed storage for source archives and build artifacts. Narrow on purpose: an
 * S3-compatible store is a second implementation of these five methods.
 */
export interface BlobStore {
  /** Stores the bytes (a buffer, a stream or a local file's path) and returns their address. */
  put(content: Buffer | Readable | { path: string }): Promise<StoredBlob>;
  /**
   * A local file holding the blob, verified against its sha256 (a mismatch is a `BlobIntegrityError`
   * and the corrupt copy is removed). Missing → `BlobNotFoundError`.
   */
  getPath(sha256: string): Promise<string>;
  /** The blob as a stream (not re-verified: for downloads of what `getPath` would verify). */
  open(sha256: string): Promise<Readable>;
  has(sha256: string): Promise<boolean>;
  /** Removes the blob; removing a missing blob is not an error. */
  delete(sha256: string): Promise<void>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly sha256: string) {
    super(`blob ${sha256} is not in the store`);
    this.name = 'BlobNotFoundError';
  }
}

export class BlobIntegrityError extends Error {
  constructor(
    readonly sha256: string,
    readonly actual: string,
  ) {
    super(`blob ${sha256} is corrupt: its content hashes to ${actual}`);
    this.name = 'BlobIntegrityError';
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

export function assertSha256(value: string): void {
  if (!SHA256.test(value)) throw new Error(`not a sha256 hex digest: ${JSON.stringify(value)}`);
}
