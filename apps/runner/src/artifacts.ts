import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlobNotFoundError, type BlobStore, FilesystemBlobStore } from '@ignite/blob-store';
import { ErrorCode } from '@ignite/contracts';
import { InvocationError } from './errors';

const SHA256 = /^[0-9a-f]{64}$/;
/** Local artifacts up to this size are verified with one read. */
const WHOLE_FILE_BYTES = 256 * 1024 * 1024;
/** Any execute bit. */
const EXECUTABLE = 0o111;

/**
 * Artifacts as executables. The local store (`FilesystemBlobStore`) keeps each blob as a
 * read-only program (mode 0555, renamed into place whole, never written again), so its
 * artifacts are verified — hashed against their address, once per process — and executed where
 * they are: a cold start reads and hashes the artifact, and copies nothing. Any other store's (or
 * a local blob without execute permission) is copied to `<dir>/<sha256>` with mode 0555, hashed
 * as it is copied (the copy is renamed into place only if it matches its address); a copy left
 * by an earlier process is re-hashed before use. With `runInPlace` off (sandboxed instances) every
 * artifact is such a copy: what runs is the very bytes that were hashed, in a directory only the
 * runner writes, never a file of the shared store that another process could replace.
 */
export class ArtifactCache {
  private readonly ready = new Map<string, Promise<string>>();
  private dirReady: Promise<void> | null = null;

  constructor(
    private readonly store: BlobStore,
    private readonly dir: string,
    /**
     * false: every artifact is copied (sandboxed instances run from a private copy, so that no
     * file of a shared directory is ever what gets executed).
     */
    private readonly runInPlace = true,
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
    if (this.runInPlace && this.store instanceof FilesystemBlobStore) {
      const inPlace = await this.verifiedInPlace(sha256, this.store);
      if (inPlace !== null) return inPlace;
    }
    const target = join(this.dir, sha256);
    // (A stat first: a fresh release has no copy yet, and a failing read stream costs ~1 ms.)
    if ((await isFile(target)) && (await hashOf(target)) === sha256) return target;
    this.dirReady ??= mkdir(this.dir, { recursive: true }).then(() => {});
    await this.dirReady;
    const tmp = join(this.dir, `.${randomUUID()}`);
    try {
      const digest = await this.copied(sha256, tmp);
      if (digest !== sha256) throw await this.corrupt(sha256);
      await rename(tmp, target);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    return target;
  }

  /**
   * The local blob's own path once its bytes match its address (one read of the whole file,
   * unless it is very large); null when it is not executable (it is copied then).
   */
  private async verifiedInPlace(sha256: string, store: FilesystemBlobStore): Promise<string | null> {
    const path = store.pathOf(sha256);
    let digest: string;
    try {
      const file = await open(path, 'r');
      try {
        const { size, mode } = await file.stat();
        if ((mode & EXECUTABLE) === 0) return null;
        digest =
          size <= WHOLE_FILE_BYTES
            ? createHash('sha256')
                .update(await readWhole(file, size))
                .digest('hex')
            : ((await hashOf(path)) ?? '');
      } finally {
        await file.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing(sha256);
      throw error;
    }
    if (digest !== sha256) throw await this.corrupt(sha256);
    return path;
  }

  private async corrupt(sha256: string): Promise<InvocationError> {
    // The store's own check removes its corrupt copy.
    await this.store.getPath(sha256).catch(() => {});
    return new InvocationError(ErrorCode.internal, `the release's artifact ${sha256} is corrupt in the artifact store`);
  }

  /** Copied from the store and hashed in one pass over its stream; returns the digest of what was copied. */
  private async copied(sha256: string, tmp: string): Promise<string> {
    if (this.store instanceof FilesystemBlobStore) return copiedWhole(this.store.pathOf(sha256), sha256, tmp);
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

/**
 * A local blob read in one read, hashed, and those very bytes written in one write (a stream
 * through the thread pool in 64 KiB pieces took three times as long on a cold start).
 */
async function copiedWhole(path: string, sha256: string, tmp: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing(sha256);
    throw error;
  }
  const digest = createHash('sha256').update(bytes).digest('hex');
  if (digest === sha256) await writeFile(tmp, bytes, { mode: 0o555, flag: 'wx' });
  return digest;
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
