import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
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
    if ((await hashOf(target)) === sha256) return target;
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
   * A local blob of a reasonable size in one read and one write (a cold start waits for this:
   * a stream's many small reads cost more than the bytes). Null when the store is not local
   * or the blob is large. Returns the digest of what was copied.
   */
  private async wholeFile(sha256: string, tmp: string): Promise<string | null> {
    if (!(this.store instanceof FilesystemBlobStore)) return null;
    const path = this.store.pathOf(sha256);
    let bytes: Buffer;
    try {
      if ((await stat(path)).size > WHOLE_FILE_BYTES) return null;
      bytes = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw missing(sha256);
      throw error;
    }
    // Created read-only and executable (the mode applies to later opens, not to this one).
    await writeFile(tmp, bytes, { mode: 0o555 });
    return createHash('sha256').update(bytes).digest('hex');
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

async function hashOf(path: string): Promise<string | null> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch {
    return null;
  }
  return hash.digest('hex');
}
