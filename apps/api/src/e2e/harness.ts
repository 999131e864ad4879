import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { QueueName } from '@ignite/contracts';
import { createPrismaClient, type PrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import { testDatabaseUrl, testRedisUrl, uniqueName } from '@ignite/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type FormData, request } from 'undici';
import { createApiApp } from '../app';
import { generateApiKey } from '../auth/api-key';
import { type ApiConfig, parseApiConfig } from '../config';

/**
 * One test file's world: its own data directory and its own queue prefix (under the test
 * prefix, so files running in parallel never see each other's jobs, channels or streams), the
 * real Postgres and Redis, and API instances started on ephemeral ports.
 */
export class TestEnv {
  readonly prefix = `${process.env.IGNITE_QUEUE_PREFIX || 'ignite-test'}-${randomBytes(4).toString('hex')}`;
  readonly prisma: PrismaClient = createPrismaClient(testDatabaseUrl());
  readonly redis: Redis = createRedis(testRedisUrl());
  readonly queue = new Queue(QueueName.builds, { connection: { url: testRedisUrl() }, prefix: this.prefix });
  dataDir = '';
  private readonly apis = new Set<TestApi>();
  private readonly orgIds: string[] = [];

  async setup(): Promise<this> {
    this.dataDir = await mkdtemp(join(tmpdir(), 'ignite-api-test-'));
    return this;
  }

  /** Starts the real API (createApiApp) with this env's settings plus `overrides`, listening on 127.0.0.1. */
  async start(overrides: Record<string, string> = {}): Promise<TestApi> {
    const config = parseApiConfig({
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      IGNITE_QUEUE_PREFIX: this.prefix,
      IGNITE_DATA_DIR: this.dataDir,
      IGNITE_BOOTSTRAP_LOCAL: 'false',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL || 'silent',
      PORT: '0',
      HOST: '127.0.0.1',
      RUNNER_DIRECT_URL: 'http://127.0.0.1:9',
      ...overrides,
    });
    const app = await createApiApp(config);
    await app.listen(config.PORT, config.HOST);
    const { port } = app.getHttpServer().address() as AddressInfo;
    const api = new TestApi(app, config, `http://127.0.0.1:${port}`, () => this.apis.delete(api));
    this.apis.add(api);
    return api;
  }

  /** A new org with an API key (rows written directly, as an operator would). */
  async org(): Promise<{ id: string; slug: string; key: string }> {
    const slug = uniqueName('org');
    const org = await this.prisma.org.create({ data: { slug } });
    this.orgIds.push(org.id);
    const { key, hash, prefix } = generateApiKey();
    await this.prisma.apiKey.create({ data: { orgId: org.id, name: 'test', hash, prefix } });
    return { id: org.id, slug, key };
  }

  /** Every file under the blob store, relative to it (to show nothing was stored). */
  async blobFiles(): Promise<string[]> {
    const root = join(this.dataDir, 'blobs');
    try {
      return (await readdir(root, { recursive: true })).sort();
    } catch {
      return [];
    }
  }

  blobPath(sha256: string): string {
    return join(this.dataDir, 'blobs', 'sha256', sha256.slice(0, 2), sha256);
  }

  async teardown(): Promise<void> {
    for (const api of [...this.apis]) await api.close();
    await this.queue.obliterate({ force: true }).catch(() => undefined);
    await this.queue.close();
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.prefix}:*`, 'COUNT', 500);
      if (keys.length > 0) await this.redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await this.redis.quit();
    if (this.orgIds.length > 0) await this.prisma.org.deleteMany({ where: { id: { in: this.orgIds } } });
    await this.prisma.$disconnect();
    await rm(this.dataDir, { recursive: true, force: true });
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  body: Buffer;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read as loose JSON
  json: any;
}

export interface CallOptions {
  key?: string | undefined;
  json?: unknown;
  body?: Buffer | string | Readable | FormData;
  headers?: Record<string, string>;
}

export class TestApi {
  constructor(
    readonly app: NestFastifyApplication,
    readonly config: ApiConfig,
    readonly url: string,
    private readonly forget: () => void,
  ) {}

  async call(method: string, path: string, options: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await request(`${this.url}${path}`, { method: method as 'GET', headers, body: body ?? null });
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const text = bytes.toString('utf8');
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.statusCode, headers: response.headers, text, body: bytes, json };
  }

  async close(): Promise<void> {
    this.forget();
    await this.app.close();
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

type Org = { slug: string; key: string };

/** The steps of the lifecycle, through the API, with the worker's part played by writing the Build row. */
export const steps = {
  async createApp(api: TestApi, org: Org, name: string, extra: Record<string, unknown> = {}): Promise<Reply> {
    const reply = await api.call('POST', `/v1/orgs/${org.slug}/apps`, { key: org.key, json: { name, runtime: 'rust', ...extra } });
    if (reply.status !== 201) throw new Error(`create app: ${reply.status} ${reply.text}`);
    return reply;
  },

  async saveDraft(api: TestApi, org: Org, app: string, archive: Buffer, contentType = 'application/gzip'): Promise<Reply> {
    const reply = await api.call('PUT', `/v1/orgs/${org.slug}/apps/${app}/draft`, {
      key: org.key,
      body: archive,
      headers: { 'content-type': contentType },
    });
    if (reply.status !== 200) throw new Error(`save draft: ${reply.status} ${reply.text}`);
    return reply;
  },

  async compile(api: TestApi, org: Org, app: string): Promise<string> {
    const reply = await api.call('POST', `/v1/orgs/${org.slug}/apps/${app}/builds`, { key: org.key });
    if (reply.status !== 202) throw new Error(`compile: ${reply.status} ${reply.text}`);
    return reply.json.build.id as string;
  },

  /** What the worker records when a build succeeds. */
  async succeed(env: TestEnv, buildId: string, artifact = randomBytes(32)): Promise<string> {
    const artifactSha256 = sha256(artifact);
    await env.prisma.build.update({
      where: { id: buildId },
      data: { status: 'succeeded', startedAt: new Date(), finishedAt: new Date(), artifactSha256, artifactSize: artifact.length },
    });
    return artifactSha256;
  },

  async publish(api: TestApi, org: Org, app: string, body?: unknown): Promise<Reply> {
    return api.call('POST', `/v1/orgs/${org.slug}/apps/${app}/releases`, { key: org.key, ...(body === undefined ? {} : { json: body }) });
  },
};
