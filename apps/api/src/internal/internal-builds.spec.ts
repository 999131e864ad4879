import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILD_ARTIFACT_MEDIA_TYPE,
  BUILD_ARTIFACT_SHA256_HEADER,
  type BuildTokenScope,
  buildArtifactUrl,
  buildContextUrl,
  buildExchangeDir,
  generateBuildTokenKey,
  signBuildToken,
} from '@ignite/build-tokens';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { InternalBuildsConfig } from './internal-builds.config';
import { InternalBuildsModule } from './internal-builds.module';

const BUILD_A = '0192f3c4-aaaa-7000-8000-00000000000a';
const BUILD_B = '0192f3c4-bbbb-7000-8000-00000000000b';

async function startInternalApi(config: InternalBuildsConfig): Promise<{ app: INestApplication; url: string }> {
  const app = await NestFactory.create<NestFastifyApplication>(InternalBuildsModule.forRoot(config), new FastifyAdapter(), {
    logger: false,
  });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('internal build endpoints', () => {
  const key = generateBuildTokenKey();
  let dataDir: string;
  let app: INestApplication;
  let url: string;
  const contextOf: Record<string, Buffer> = {};

  const token = (buildId: string, scope: BuildTokenScope, ttlSeconds = 600, now?: number) =>
    signBuildToken({ buildId, scope, ttlSeconds }, key, now);
  const getContext = (buildId: string, auth?: string) =>
    fetch(buildContextUrl(url, buildId), { headers: auth === undefined ? {} : { authorization: auth } });
  const putArtifact = (buildId: string, body: Buffer, auth: string | undefined, headers: Record<string, string> = {}) =>
    fetch(buildArtifactUrl(url, buildId), {
      method: 'PUT',
      body,
      headers: {
        'content-type': BUILD_ARTIFACT_MEDIA_TYPE,
        [BUILD_ARTIFACT_SHA256_HEADER]: sha256(body),
        ...(auth === undefined ? {} : { authorization: auth }),
        ...headers,
      },
    });
  const exchangeFiles = (buildId: string) => readdir(buildExchangeDir(dataDir, buildId));

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'internal-builds-'));
    ({ app, url } = await startInternalApi({ dataDir, tokenKey: Buffer.from(key), maxArtifactBytes: 64 * 1024, clockToleranceSeconds: 0 }));
  });

  beforeEach(async () => {
    // What the compile worker does before it creates a build's Job: the exchange directory with the context.
    for (const buildId of [BUILD_A, BUILD_B]) {
      const dir = buildExchangeDir(dataDir, buildId);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      contextOf[buildId] = Buffer.from(`context of ${buildId}`);
      await writeFile(join(dir, 'context.tar.gz'), contextOf[buildId]!);
    }
  });

  afterAll(async () => {
    await app?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the build context to a context:read token of that build', async () => {
    const response = await getContext(BUILD_A, `Bearer ${token(BUILD_A, 'context:read')}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/gzip');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(contextOf[BUILD_A]);
  });

  it('stores the artifact of an artifact:write token of that build, atomically', async () => {
    const artifact = Buffer.from('\x7fELF pretend binary');
    const response = await putArtifact(BUILD_A, artifact, `Bearer ${token(BUILD_A, 'artifact:write')}`);
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ buildId: BUILD_A, size: artifact.length, sha256: sha256(artifact) });
    expect(await readFile(join(buildExchangeDir(dataDir, BUILD_A), 'artifact'))).toEqual(artifact);
    expect((await exchangeFiles(BUILD_A)).sort()).toEqual(['artifact', 'context.tar.gz']);

    // A retried upload replaces the first one.
    const again = Buffer.from('second upload');
    expect((await putArtifact(BUILD_A, again, `Bearer ${token(BUILD_A, 'artifact:write')}`)).status).toBe(201);
    expect(await readFile(join(buildExchangeDir(dataDir, BUILD_A), 'artifact'))).toEqual(again);
  });

  it("does not let build A's tokens read or write build B", async () => {
    const read = await getContext(BUILD_B, `Bearer ${token(BUILD_A, 'context:read')}`);
    expect(read.status).toBe(403);
    expect(await read.json()).toEqual({ code: 'forbidden', error: expect.stringContaining('another build') });

    const write = await putArtifact(BUILD_B, Buffer.from('evil'), `Bearer ${token(BUILD_A, 'artifact:write')}`);
    expect(write.status).toBe(403);
    expect(await exchangeFiles(BUILD_B)).toEqual(['context.tar.gz']);
  });

  it('grants each token one operation only', async () => {
    expect((await getContext(BUILD_A, `Bearer ${token(BUILD_A, 'artifact:write')}`)).status).toBe(403);
    const write = await putArtifact(BUILD_A, Buffer.from('x'), `Bearer ${token(BUILD_A, 'context:read')}`);
    expect(write.status).toBe(403);
    expect(await write.json()).toEqual({ code: 'forbidden', error: 'the build token grants context:read, not artifact:write' });
    expect(await exchangeFiles(BUILD_A)).toEqual(['context.tar.gz']);
  });

  it('refuses missing, forged, foreign and expired tokens with 401', async () => {
    const missing = await getContext(BUILD_A);
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: string }).error).toMatch(/missing build token/);

    const genuine = token(BUILD_A, 'context:read');
    const forged = `${genuine.slice(0, -4)}AAAA`;
    expect((await getContext(BUILD_A, `Bearer ${forged}`)).status).toBe(401);
    const foreign = signBuildToken({ buildId: BUILD_A, scope: 'context:read', ttlSeconds: 600 }, generateBuildTokenKey());
    expect((await getContext(BUILD_A, `Bearer ${foreign}`)).status).toBe(401);
    expect((await getContext(BUILD_A, `Basic ${genuine}`)).status).toBe(401);

    const expired = token(BUILD_A, 'context:read', 60, Date.now() - 120_000);
    const answer = await getContext(BUILD_A, `Bearer ${expired}`);
    expect(answer.status).toBe(401);
    expect(((await answer.json()) as { error: string }).error).toMatch(/expired/);
  });

  it('refuses an artifact over the size limit, also when streamed without a length', async () => {
    const big = Buffer.alloc(64 * 1024 + 1, 1);
    const declared = await putArtifact(BUILD_A, big, `Bearer ${token(BUILD_A, 'artifact:write')}`);
    expect(declared.status).toBe(413);

    // Chunked: the limit is found while the bytes arrive.
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        buildArtifactUrl(url, BUILD_A),
        {
          method: 'PUT',
          headers: {
            'content-type': BUILD_ARTIFACT_MEDIA_TYPE,
            [BUILD_ARTIFACT_SHA256_HEADER]: sha256(big),
            authorization: `Bearer ${token(BUILD_A, 'artifact:write')}`,
            'transfer-encoding': 'chunked',
          },
        },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on('error', reject);
      for (let offset = 0; offset < big.length; offset += 8192) request.write(big.subarray(offset, offset + 8192));
      request.end();
    });
    expect(status).toBe(413);
    expect(await exchangeFiles(BUILD_A)).toEqual(['context.tar.gz']);
  });

  it('refuses an upload whose bytes do not match the declared sha256', async () => {
    const response = await putArtifact(BUILD_A, Buffer.from('truncated'), `Bearer ${token(BUILD_A, 'artifact:write')}`, {
      [BUILD_ARTIFACT_SHA256_HEADER]: sha256(Buffer.from('the whole thing')),
    });
    expect(response.status).toBe(422);
    expect(await exchangeFiles(BUILD_A)).toEqual(['context.tar.gz']);

    const unsigned = await putArtifact(BUILD_A, Buffer.from('x'), `Bearer ${token(BUILD_A, 'artifact:write')}`, {
      [BUILD_ARTIFACT_SHA256_HEADER]: 'nope',
    });
    expect(unsigned.status).toBe(400);
  });

  it('refuses other content types', async () => {
    const response = await putArtifact(BUILD_A, Buffer.from('{}'), `Bearer ${token(BUILD_A, 'artifact:write')}`, {
      'content-type': 'application/json',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toContain(BUILD_ARTIFACT_MEDIA_TYPE);
  });

  it('answers 404 for a build that is not building on the kubernetes executor', async () => {
    const idle = '0192f3c4-cccc-7000-8000-00000000000c';
    expect((await getContext(idle, `Bearer ${token(idle, 'context:read')}`)).status).toBe(404);
    expect((await putArtifact(idle, Buffer.from('x'), `Bearer ${token(idle, 'artifact:write')}`)).status).toBe(404);
  });

  it('refuses what is not a build id before touching the disk', async () => {
    const response = await fetch(`${url}/internal/v1/builds/..%2F..%2Fetc/context`, {
      headers: { authorization: `Bearer ${token(BUILD_A, 'context:read')}` },
    });
    expect(response.status).toBe(400);
  });

  it('is disabled (503) when the API has no token key', async () => {
    const disabled = await startInternalApi({ dataDir, tokenKey: undefined, maxArtifactBytes: 1024, clockToleranceSeconds: 0 });
    try {
      const response = await fetch(buildContextUrl(disabled.url, BUILD_A), {
        headers: { authorization: `Bearer ${token(BUILD_A, 'context:read')}` },
      });
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toMatch(/IGNITE_BUILD_TOKEN_KEY is not set/);
    } finally {
      await disabled.app.close();
    }
  });
});
