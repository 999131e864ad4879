import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobNotFoundError, type BlobStore, FilesystemBlobStore } from '@ignite/blob-store';
import { ArtifactCache } from './artifacts';

/** A store that is not local: only streams (what an object store offers). */
function remote(local: FilesystemBlobStore): BlobStore {
  return {
    put: (content) => local.put(content),
    getPath: (sha256) => local.getPath(sha256),
    open: async (sha256) => {
      if (!(await local.has(sha256))) throw new BlobNotFoundError(sha256);
      return Readable.from([await readFile(local.pathOf(sha256))]);
    },
    has: (sha256) => local.has(sha256),
    delete: (sha256) => local.delete(sha256),
  };
}

describe('ArtifactCache', () => {
  let dir: string;
  let store: FilesystemBlobStore;
  let copies: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ignite-artifacts-'));
    store = new FilesystemBlobStore(join(dir, 'blobs'));
    copies = join(dir, 'bin');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a local blob where it is, once its bytes match its address, and copies nothing', async () => {
    const { sha256 } = await store.put(randomBytes(100_000));
    const path = await new ArtifactCache(store, copies).executable(sha256);
    expect(path).toBe(store.pathOf(sha256));
    expect((await stat(path)).mode & 0o111).not.toBe(0);
    await expect(readdir(copies)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a local blob whose bytes do not match, and the store drops it', async () => {
    const { sha256 } = await store.put(randomBytes(1000));
    const blob = store.pathOf(sha256);
    await chmod(blob, 0o755);
    await writeFile(blob, 'not the program');
    // The runner's own store (another process's view: it has not seen these bytes written).
    const runnerStore = new FilesystemBlobStore(join(dir, 'blobs'));
    await expect(new ArtifactCache(runnerStore, copies).executable(sha256)).rejects.toThrow(`the release's artifact ${sha256} is corrupt`);
    expect(await store.has(sha256)).toBe(false);
  });

  it('says which artifact is missing', async () => {
    const sha256 = 'e'.repeat(64);
    await expect(new ArtifactCache(store, copies).executable(sha256)).rejects.toThrow(`${sha256} is missing from the artifact store`);
    await expect(new ArtifactCache(remote(store), copies).executable(sha256)).rejects.toThrow(
      `${sha256} is missing from the artifact store`,
    );
  });

  it('copies a blob it cannot execute in place (not executable, or not local) and verifies the copy', async () => {
    const bytes = randomBytes(50_000);
    const { sha256 } = await store.put(bytes);
    await chmod(store.pathOf(sha256), 0o444);
    const copy = await new ArtifactCache(store, copies).executable(sha256);
    expect(copy).toBe(join(copies, sha256));
    expect(await readFile(copy)).toEqual(bytes);
    expect((await stat(copy)).mode & 0o777).toBe(0o555);

    // A fresh cache (a restarted runner) re-hashes the copy it finds, from a remote store too.
    expect(await new ArtifactCache(remote(store), copies).executable(sha256)).toBe(copy);
    await chmod(copy, 0o755);
    await writeFile(copy, 'tampered');
    expect(await new ArtifactCache(remote(store), copies).executable(sha256)).toBe(copy);
    expect(await readFile(copy)).toEqual(bytes);
  });
});
