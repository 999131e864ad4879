import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { BlobIntegrityError, BlobNotFoundError } from './blob-store';
import { FilesystemBlobStore } from './filesystem-blob-store';

describe('FilesystemBlobStore', () => {
  let root: string;
  let store: FilesystemBlobStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'blobs-'));
    store = new FilesystemBlobStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const sha = (data: string) => createHash('sha256').update(data).digest('hex');

  it('stores buffers, streams and files under their sha256', async () => {
    const fromBuffer = await store.put(Buffer.from('hello'));
    const fromStream = await store.put(Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
    const file = join(root, 'input');
    await writeFile(file, 'world');
    const fromFile = await store.put({ path: file });

    expect(fromBuffer).toEqual({ sha256: sha('hello'), size: 5 });
    expect(fromStream).toEqual(fromBuffer);
    expect(fromFile.sha256).toBe(sha('world'));
    expect(await readFile(await store.getPath(sha('hello')), 'utf8')).toBe('hello');
  });

  it('reports a missing blob', async () => {
    await expect(store.getPath(sha('absent'))).rejects.toBeInstanceOf(BlobNotFoundError);
    expect(await store.has(sha('absent'))).toBe(false);
  });

  it('detects a corrupt blob and removes it', async () => {
    const { sha256 } = await store.put(Buffer.from('intact'));
    const path = store.pathOf(sha256);
    await chmod(path, 0o644);
    await writeFile(path, 'tampered');
    const fresh = new FilesystemBlobStore(root);

    await expect(fresh.getPath(sha256)).rejects.toBeInstanceOf(BlobIntegrityError);
    expect(await fresh.has(sha256)).toBe(false);
  });

  it('rejects an address that is not a sha256', async () => {
    await expect(store.getPath('../../etc/passwd')).rejects.toThrow(/not a sha256/);
  });

  it('deletes idempotently', async () => {
    const { sha256 } = await store.put(Buffer.from('bye'));
    await store.delete(sha256);
    await store.delete(sha256);
    expect(await store.has(sha256)).toBe(false);
  });
});
