import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, type BlobStore, FilesystemBlobStore } from '@ignite/blob-store';
import { ErrorCode } from '@ignite/contracts';
import { InvocationError } from './errors';

const SHA256 = /^[0-9a-f]{64}$/;
/** Local artifacts up to this size are copied with one read and one write. */
const WHOLE_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Artifacts as executables. The blob store keeps blobs read-only and not executable, so each
 * artifact is copied once to `<dir>/<sha256>` with mode 0555, hashed as it is copied (the copy
 * is renamed into place only if it matches its address). A copy left by an earlier process is
 * re-hashed before use.
 */
export class ArtifactCache {
  private readonly ready = new Map<string, Promise<string>>();
  private dirReady: Promise<void> | null = null;

  constructor(
    private readonly store: BlobStore,
    private readonly dir: string,
  ) {}

  /** A local executable with the artifact's bytes; `InvocationError` when the store has no intact copy. */
  executable(sha256: string): Promise<string> {
    let pending = this.ready.get(sha256);
    if (pending === undefined) {
      pending = this.materialize(sha256);
      this.ready.set(sha256, pending);
      // A failure is not remembered: the next start tries again.
      pending.catch(() => this.ready.delete(sha256));
    }
    return pending;
  }

  private async materialize(sha256: string): Promise<string> {
    // Also keeps a bad address from naming a path outside the directory.
    if (!SHA256.test(sha256)) throw new InvocationError(ErrorCode.internal, "the release's artifact address is not a sha256");
    const target = join(this.dir, sha256);
    // (A stat first: a fresh release has no copy yet, and a failing read stream costs ~1 ms.)
    if ((await isFile(target)) && (await hashOf(target)) === sha256) return target;
    this.dirReady ??= mkdir(this.dir, { recursive: true }).then(() => {});
    await this.dirReady;
    const tmp = join(this.dir, `.${randomUUID()}`);
    try {
      const digest = (await this.wholeFile(sha256, tmp)) ?? (await this.streamed(sha256, tmp));
      if (digest !== sha256) {
        // The store's own check removes its corrupt copy.
        await this.store.getPath(sha256).catch(() => {});
        throw new InvocationError(ErrorCode.internal, `the release's artifact ${sha256} is corrupt in the artifact store`);
      }
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    return target;
  }

  /**
   * A local blob of a reasonable size in one read and one write, hashed while the write is under
   * way (a cold start waits for this: `readFile`/`writeFile` go in 512 KiB pieces, each a trip
   * through the thread pool, and a write in pieces cannot proceed while the hash holds the
   * event loop). Null when the store is not local or the blob is large. Returns the digest of
   * what was copied.
   */
  private async wholeFile(sha256: string, tmp: string): Promise<string | null> {
    if (!(this.store instanceof FilesystemBlobStore)) return null;
    let bytes: Buffer;
    try {
      const source = await open(this.store.pathOf(sha256), 'r');
      try {
        const { size } = await source.stat();
        if (size > WHOLE_FILE_BYTES) return null;
        bytes = await readWhole(source, size);
      } finally {
        await source.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing(sha256);
      throw error;
    }
    // Created read-only and executable (the mode applies to later opens, not to this one).
    const copy = await open(tmp, 'wx', 0o555);
    try {
      const written = writeWhole(copy, bytes);
      const digest = createHash('sha256').update(bytes).digest('hex');
      await written;
      return digest;
    } finally {
      await copy.close();
    }
  }

  /** Any store: copied and hashed in one pass over its stream. */
  private async streamed(sha256: string, tmp: string): Promise<string> {
    let source: Readable;
    try {
      source = await this.store.open(sha256);
    } catch (error) {
      if (error instanceof BlobNotFoundError) throw missing(sha256);
      throw error;
    }
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(source, hashing, createWriteStream(tmp, { mode: 0o555 }));
    return hash.digest('hex');
  }
}

function missing(sha256: string): InvocationError {
  return new InvocationError(ErrorCode.internal, `the release's artifact ${sha256} is missing from the artifact store`);
}

/** `size` bytes from the start of `file` (fewer if it is shorter). */
async function readWhole(file: FileHandle, size: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const { bytesRead } = await file.read(bytes, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return bytes.subarray(0, filled);
}

/** All of `bytes` to `file` (one write, unless the system takes less). */
async function writeWhole(file: FileHandle, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length; ) {
    const { bytesWritten } = await file.write(bytes, done, bytes.length - done, done);
    done += bytesWritten;
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (stats) => stats.isFile(),
    () => false,
  );
}

async function hashOf(path: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch {
    return null;
  }
  return hash.digest('hex');
}
