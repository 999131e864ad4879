import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSha256, BlobIntegrityError, BlobNotFoundError, type BlobStore, type StoredBlob } from './blob-store';

/**
 * Blobs as read-only files (mode 0555: artifacts are programs the runner executes in place) under `<root>/sha256/<2 hex>/<64 hex>`. Writes go to a temporary file
 * first and are renamed into place, so a reader never sees half a blob and two writers of the same
 * content both succeed.
 */
export class FilesystemBlobStore implements BlobStore {
  /** Digests verified by this process: a blob is immutable, so it is hashed once per process. */
  private readonly verified = new Set<string>();

  constructor(private readonly root: string) {}

  pathOf(sha256: string): string {
    assertSha256(sha256);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  async put(content: Buffer | Readable | { path: string }): Promise<StoredBlob> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const source = Buffer.isBuffer(content)
      ? Readable.from([content])
      : content instanceof Readable
        ? content
        : createReadStream(content.path);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, counter, createWriteStream(tmp, { mode: 0o555 }));
      const sha256 = hash.digest('hex');
      const finalPath = this.pathOf(sha256);
      await mkdir(dirname(finalPath), { recursive: true });
      await rename(tmp, finalPath);
      await chmod(finalPath, 0o555);
      this.verified.add(sha256);
      return { sha256, size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async getPath(sha256: string): Promise<string> {
    const path = this.pathOf(sha256);
    if (!(await this.has(sha256))) throw new BlobNotFoundError(sha256);
    if (this.verified.has(sha256)) return path;
    const hash = createHash('sha256');
    await pipeline(createReadStream(path), hash);
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      await rm(path, { force: true });
      throw new BlobIntegrityError(sha256, actual);
    }
    this.verified.add(sha256);
    return path;
  }

  async open(sha256: string): Promise<Readable> {
    const path = this.pathOf(sha256);
    if (!(await this.has(sha256))) throw new BlobNotFoundError(sha256);
    return createReadStream(path);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathOf(sha256))).isFile();
    } catch {
      return false;
    }
  }

  async delete(sha256: string): Promise<void> {
    this.verified.delete(sha256);
    await rm(this.pathOf(sha256), { force: true });
  }
}
