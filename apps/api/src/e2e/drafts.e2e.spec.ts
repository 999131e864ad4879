import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { FormData } from 'undici';
import { RUST_PROJECT, tarGz, zip } from './archives';
import { sha256, steps, type TestApi, TestEnv } from './harness';

const LIMIT = 64 * 1024;

describe('drafts (e2e)', () => {
  const env = new TestEnv();
  let api: TestApi;
  let org: { id: string; slug: string; key: string };

  beforeAll(async () => {
    await env.setup();
    api = await env.start({ MAX_ARCHIVE_BYTES: String(LIMIT) });
    org = await env.org();
  });

  afterAll(async () => {
    await env.teardown();
  });

  const put = (app: string, body: Buffer | Readable | FormData, contentType?: string) =>
    api.call('PUT', `/v1/orgs/${org.slug}/apps/${app}/draft`, {
      key: org.key,
      body,
      headers: contentType ? { 'content-type': contentType } : {},
    });
  const draftOf = (app: string) => env.prisma.draft.findFirst({ where: { app: { name: app, orgId: org.id } } });

  /** Asserts that a refused upload left the blob store and the draft exactly as they were. */
  async function expectNothingStored(app: string, attempt: () => Promise<void>): Promise<void> {
    const blobsBefore = await env.blobFiles();
    const draftBefore = await draftOf(app);
    await attempt();
    expect(await env.blobFiles()).toEqual(blobsBefore);
    expect(await draftOf(app)).toEqual(draftBefore);
  }

  it('saves a tar.gz body, then a zip body, then a multipart upload, bumping the revision', async () => {
    await steps.createApp(api, org, 'saves');
    const tar = tarGz(RUST_PROJECT);
    const first = await put('saves', tar, 'application/gzip');
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ revision: 1, sha256: sha256(tar), size: tar.length, format: 'tar.gz' });
    expect(await readFile(env.blobPath(sha256(tar)))).toEqual(tar);

    const zipped = zip(RUST_PROJECT);
    const second = await put('saves', zipped, 'application/zip');
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ revision: 2, sha256: sha256(zipped), size: zipped.length, format: 'zip' });

    const nested = zip({ 'project/Cargo.toml': RUST_PROJECT['Cargo.toml']!, 'project/src/lib.rs': RUST_PROJECT['src/lib.rs']! });
    const form = new FormData();
    form.append('note', 'ignored');
    form.append('archive', new Blob([nested], { type: 'application/zip' }), 'project.zip');
    const third = await put('saves', form);
    expect(third.status).toBe(200);
    expect(third.json).toEqual({ revision: 3, sha256: sha256(nested), size: nested.length, format: 'zip' });

    const sniffedTar = tarGz({ ...RUST_PROJECT, 'README.md': 'sniffed' });
    const fourth = await put('saves', sniffedTar, 'application/octet-stream');
    expect(fourth.json).toMatchObject({ revision: 4, format: 'tar.gz' });
    const fifth = await put('saves', tar, 'application/x-gzip');
    expect(fifth.json).toMatchObject({ revision: 5, sha256: sha256(tar) });

    const generic = new FormData();
    generic.append('archive', new Blob([zipped], { type: 'application/octet-stream' }), 'project.bin');
    expect((await put('saves', generic)).json).toMatchObject({ revision: 6, format: 'zip' });

    const draft = await api.call('GET', `/v1/orgs/${org.slug}/apps/saves/draft`, { key: org.key });
    expect(draft.status).toBe(200);
    expect(draft.json.draft).toMatchObject({ revision: 6, sha256: sha256(zipped), size: zipped.length, format: 'zip' });

    const download = await api.call('GET', `/v1/orgs/${org.slug}/apps/saves/draft/archive`, { key: org.key });
    expect(download.status).toBe(200);
    expect(download.headers['content-type']).toBe('application/zip');
    expect(download.headers['content-disposition']).toBe('attachment; filename="saves-r6.zip"');
    expect(download.body).toEqual(zipped);
  });

  it('removes a replaced archive that nothing else uses, and keeps one a build uses', async () => {
    await steps.createApp(api, org, 'replaces');
    const first = tarGz({ ...RUST_PROJECT, 'README.md': 'first' });
    const second = tarGz({ ...RUST_PROJECT, 'README.md': 'second' });
    const third = tarGz({ ...RUST_PROJECT, 'README.md': 'third' });
    await steps.saveDraft(api, org, 'replaces', first);
    await steps.saveDraft(api, org, 'replaces', second);
    expect(existsSync(env.blobPath(sha256(first)))).toBe(false);
    await steps.compile(api, org, 'replaces');
    await steps.saveDraft(api, org, 'replaces', third);
    expect(existsSync(env.blobPath(sha256(second)))).toBe(true);
    expect(existsSync(env.blobPath(sha256(third)))).toBe(true);
  });

  it('answers 404 for the draft of an app without one', async () => {
    await steps.createApp(api, org, 'empty');
    const reply = await api.call('GET', `/v1/orgs/${org.slug}/apps/empty/draft`, { key: org.key });
    expect(reply.status).toBe(404);
    expect(reply.json.error).toContain('has no draft');
    expect((await api.call('GET', `/v1/orgs/${org.slug}/apps/empty/draft/archive`, { key: org.key })).status).toBe(404);
  });

  describe('refusals store nothing', () => {
    beforeAll(async () => {
      await steps.createApp(api, org, 'refuse');
      await steps.saveDraft(api, org, 'refuse', tarGz(RUST_PROJECT));
    });

    const big = () => tarGz({ ...RUST_PROJECT, 'blob.bin': randomBytes(LIMIT * 2) });

    it('refuses an archive over MAX_ARCHIVE_BYTES with 413 naming the limit (with a Content-Length)', async () => {
      const archive = big();
      expect(archive.length).toBeGreaterThan(LIMIT);
      await expectNothingStored('refuse', async () => {
        const reply = await put('refuse', archive, 'application/gzip');
        expect(reply.status).toBe(413);
        expect(reply.json).toEqual({
          error: `the archive is larger than the limit of ${LIMIT} bytes (64 KiB)`,
          code: 'payload_too_large',
          limitBytes: LIMIT,
        });
      });
    });

    it('refuses an oversized chunked body while it streams', async () => {
      const archive = big();
      const chunks = Array.from({ length: Math.ceil(archive.length / 8192) }, (_, i) => archive.subarray(i * 8192, (i + 1) * 8192));
      await expectNothingStored('refuse', async () => {
        const reply = await put('refuse', Readable.from(chunks), 'application/octet-stream');
        expect(reply.status).toBe(413);
        expect(reply.json.code).toBe('payload_too_large');
      });
    });

    it('refuses an oversized multipart file', async () => {
      const form = new FormData();
      form.append('archive', new Blob([big()], { type: 'application/gzip' }), 'big.tar.gz');
      await expectNothingStored('refuse', async () => {
        const reply = await put('refuse', form);
        expect(reply.status).toBe(413);
        expect(reply.json.limitBytes).toBe(LIMIT);
      });
    });

    it('refuses a corrupt archive with 422', async () => {
      const archive = tarGz({ ...RUST_PROJECT, 'src/other.rs': 'x'.repeat(5000) });
      const truncated = archive.subarray(0, Math.floor(archive.length / 2));
      await expectNothingStored('refuse', async () => {
        const reply = await put('refuse', truncated, 'application/gzip');
        expect(reply.status).toBe(422);
        expect(reply.json.code).toBe('unprocessable');
        expect(reply.json.error).toMatch(/^archive/);
      });
      const badZip = Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(100, 1)]);
      await expectNothingStored('refuse', async () => {
        expect((await put('refuse', badZip, 'application/zip')).status).toBe(422);
      });
    });

    it('refuses an unsafe or unusable archive with 422 and the reason', async () => {
      await expectNothingStored('refuse', async () => {
        const traversal = await put('refuse', zip({ ...RUST_PROJECT, '../evil.rs': 'x' }), 'application/zip');
        expect(traversal.status).toBe(422);
        expect(traversal.json).toMatchObject({ code: 'unprocessable', reason: 'path_traversal', entry: '../evil.rs' });
        const noManifest = await put('refuse', zip({ 'src/lib.rs': 'fn main() {}' }), 'application/zip');
        expect(noManifest.status).toBe(422);
        expect(noManifest.json.reason).toBe('no_cargo_toml');
      });
    });

    it('refuses a content type that disagrees with the bytes, and bytes that are no archive, with 400', async () => {
      await expectNothingStored('refuse', async () => {
        const mismatch = await put('refuse', tarGz(RUST_PROJECT), 'application/zip');
        expect(mismatch.status).toBe(400);
        expect(mismatch.json).toMatchObject({ code: 'validation_failed', declared: 'zip', detected: 'tar.gz' });
        expect((await put('refuse', zip(RUST_PROJECT), 'application/gzip; charset=binary')).status).toBe(400);
        const form = new FormData();
        form.append('archive', new Blob([zip(RUST_PROJECT)], { type: 'application/gzip' }), 'x.tar.gz');
        expect((await put('refuse', form)).status).toBe(400);

        const text = await put('refuse', Buffer.from('just some text'), 'application/octet-stream');
        expect(text.status).toBe(400);
        expect(text.json.error).toContain('neither a gzip-compressed tar nor a zip');
        expect((await put('refuse', Buffer.alloc(0), 'application/octet-stream')).json.error).toContain('empty');
      });
    });

    it('refuses unsupported content types and malformed multipart with 400', async () => {
      await expectNothingStored('refuse', async () => {
        const json = await api.call('PUT', `/v1/orgs/${org.slug}/apps/refuse/draft`, { key: org.key, json: { archive: 'base64?' } });
        expect(json.status).toBe(400);
        expect(json.json.error).toContain('unsupported content type');
        expect(json.json.supportedContentTypes).toContain('multipart/form-data');
        expect((await put('refuse', Buffer.from('plain'), 'text/plain')).status).toBe(400);
        expect((await put('refuse', tarGz(RUST_PROJECT))).status).toBe(400);

        const wrongField = new FormData();
        wrongField.append('file', new Blob([tarGz(RUST_PROJECT)]), 'p.tar.gz');
        const wrong = await put('refuse', wrongField);
        expect(wrong.status).toBe(400);
        expect(wrong.json.error).toContain('field named "archive"');

        const noFile = new FormData();
        noFile.append('archive', 'not a file');
        expect((await put('refuse', noFile)).status).toBe(400);

        const twoFiles = new FormData();
        twoFiles.append('archive', new Blob([tarGz(RUST_PROJECT)]), 'a.tar.gz');
        twoFiles.append('archive', new Blob([tarGz(RUST_PROJECT)]), 'b.tar.gz');
        expect((await put('refuse', twoFiles)).status).toBe(400);

        const broken = await put(
          'refuse',
          Buffer.from('--x\r\nContent-Disposition: form-data; name="archive"; filename="a"\r\n\r\nabc'),
          'multipart/form-data; boundary=x',
        );
        expect(broken.status).toBe(400);
      });
    });

    it('leaves no temporary upload behind', async () => {
      const uploads = `${env.dataDir}/tmp/uploads`;
      expect(existsSync(uploads)).toBe(true);
      expect(await readdir(uploads)).toEqual([]);
    });
  });
});
