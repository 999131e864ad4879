import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import {
  channels,
  type FunctionLogRecord,
  type InvocationReport,
  type ReleaseActivated,
  readFunctionLogStreamEntry,
  readInvocationStreamEntry,
} from '@ignite/contracts';
import { createPrismaClient, type PrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import { testDatabaseUrl, testRedisUrl, uniqueName, waitFor } from '@ignite/testing';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { type RunnerConfig, RunnerConfigSchema } from '../config';
import { Runner } from '../runner';

export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface TestRunner {
  runner: Runner;
  url: string;
  /** The direct port's base URL. */
  directUrl: string;
  config: RunnerConfig;
  /** Every log record the runner wrote, parsed. */
  logs: LogRecord[];
  store: FilesystemBlobStore;
  prefix: string;
  dataDir: string;
  stop(): Promise<void>;
}

/** A runner on a free port with its own data dir and Redis prefix, logging into memory. */
export async function startRunner(overrides: Record<string, string> = {}): Promise<TestRunner> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ignite-runner-'));
  const prefix = uniqueName('ignite-test-runner');
  const config = RunnerConfigSchema.parse({
    RUNNER_PORT: '0',
    RUNNER_DIRECT_PORT: '0',
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: testRedisUrl(),
    IGNITE_DATA_DIR: dataDir,
    IGNITE_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'info',
    // These tests call the runner's ports themselves; the token's own tests set one.
    RUNNER_ALLOW_UNAUTHENTICATED: 'true',
    ...overrides,
  });
  const logs: LogRecord[] = [];
  const logger = pino(
    { level: config.LOG_LEVEL, base: { app: 'runner' } },
    {
      write(line: string) {
        logs.push(JSON.parse(line) as LogRecord);
      },
    },
  );
  const runner = new Runner(config, { logger });
  const address = await runner.start();
  return {
    runner,
    url: `http://127.0.0.1:${address.port}`,
    directUrl: `http://127.0.0.1:${runner.directAddress?.port ?? 0}`,
    config,
    logs,
    store: new FilesystemBlobStore(join(dataDir, 'blobs')),
    prefix,
    dataDir,
    async stop() {
      await runner.stop(5_000);
      const redis = createRedis(testRedisUrl());
      await redis.del(channels.invocations(prefix), channels.functionLogs(prefix));
      redis.disconnect();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SeededFunction {
  org: string;
  app: string;
  functionId: string;
  appId: string;
  releaseId: string | null;
  orgId: string;
}

export interface SeedOptions {
  /** The program to publish (omit: an app with no release). */
  program?: string;
  target?: 'native' | 'wasm';
  env?: Record<string, string>;
  timeoutMs?: number;
  memoryMb?: number;
  app?: string;
}

/** org → app → build → release (active), with the program put into the runner's blob store. */
export async function seedFunction(prisma: PrismaClient, store: FilesystemBlobStore, options: SeedOptions = {}): Promise<SeededFunction> {
  const org = await prisma.org.create({ data: { slug: uniqueName('org') } });
  const app = await prisma.app.create({
    data: {
      orgId: org.id,
      name: options.app ?? 'fn',
      rustTarget: options.target ?? 'native',
      env: options.env ?? {},
      timeoutMs: options.timeoutMs ?? null,
      memoryMb: options.memoryMb ?? null,
    },
  });
  const seeded: SeededFunction = {
    org: org.slug,
    app: app.name,
    functionId: `${org.slug}/${app.name}`,
    appId: app.id,
    releaseId: null,
    orgId: org.id,
  };
  if (options.program !== undefined) {
    seeded.releaseId = await addRelease(prisma, store, app.id, options.program, options.target ?? 'native');
  }
  return seeded;
}

/** A new release of the app (number + 1), made active. Returns its id. */
export async function addRelease(
  prisma: PrismaClient,
  store: FilesystemBlobStore,
  appId: string,
  program: string,
  target: 'native' | 'wasm' = 'native',
): Promise<string> {
  const artifact = await store.put({ path: program });
  const last = await prisma.release.findFirst({ where: { appId }, orderBy: { number: 'desc' }, select: { number: true } });
  const build = await prisma.build.create({
    data: {
      appId,
      draftRevision: 1,
      sourceSha256: 'a'.repeat(64),
      target,
      status: 'succeeded',
      artifactSha256: artifact.sha256,
      artifactSize: artifact.size,
    },
  });
  const release = await prisma.release.create({
    data: {
      appId,
      buildId: build.id,
      number: (last?.number ?? 0) + 1,
      target,
      artifactSha256: artifact.sha256,
      artifactSize: artifact.size,
    },
  });
  await prisma.app.update({ where: { id: appId }, data: { activeReleaseId: release.id } });
  return release.id;
}

/** What the API does on publish: the new release becomes active, then runners hear of it. */
export async function publish(
  prisma: PrismaClient,
  redis: Redis,
  prefix: string,
  store: FilesystemBlobStore,
  fn: SeededFunction,
  program: string,
): Promise<ReleaseActivated> {
  const releaseId = await addRelease(prisma, store, fn.appId, program);
  const release = await prisma.release.findUniqueOrThrow({ where: { id: releaseId } });
  const event: ReleaseActivated = { appId: fn.appId, functionId: fn.functionId, releaseId, number: release.number };
  await redis.publish(channels.releases(prefix), JSON.stringify(event));
  return event;
}

export function testPrisma(): PrismaClient {
  return createPrismaClient(testDatabaseUrl());
}

export async function cleanup(prisma: PrismaClient, functions: SeededFunction[]): Promise<void> {
  const orgIds = [...new Set(functions.map((fn) => fn.orgId))];
  await prisma.org.deleteMany({ where: { id: { in: orgIds } } });
}

/** An invocation's answer, read whole. */
export interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

export async function invoke(
  base: string,
  fn: Pick<SeededFunction, 'functionId'>,
  body?: unknown,
  init: { method?: string; path?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${base}/v1/invoke/${fn.functionId}${init.path ?? ''}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

export function pidsStarted(logs: LogRecord[]): number[] {
  return logs.filter((record) => record.msg === 'instance ready' && typeof record.pid === 'number').map((record) => record.pid as number);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The reports runner `prefix` put on the invocations stream for `ids`, once all are there. */
export async function reportsOf(prefix: string, ids: (string | null | undefined)[]): Promise<Map<string, InvocationReport>> {
  const redis = createRedis(testRedisUrl());
  try {
    const reports = await waitFor(async () => {
      const entries = await redis.xrange(channels.invocations(prefix), '-', '+');
      const parsed = entries.flatMap(([, fields]) => {
        const { reports, invalid } = readInvocationStreamEntry(fields);
        if (invalid.length > 0) throw new Error(`invalid reports on the stream: ${JSON.stringify(invalid)}`);
        return reports;
      });
      const mine = parsed.filter((r) => ids.includes(r.executionId));
      return mine.length === ids.length ? mine : undefined;
    });
    return new Map(reports.map((r) => [r.executionId, r]));
  } finally {
    redis.disconnect();
  }
}

/** The function log lines runner `prefix` shipped so far (the function-logs stream, as the API reads it). */
export async function functionLogLines(prefix: string): Promise<FunctionLogRecord[]> {
  const redis = createRedis(testRedisUrl());
  try {
    const entries = await redis.xrange(channels.functionLogs(prefix), '-', '+');
    return entries.flatMap(([, fields]) => {
      const { lines, invalid } = readFunctionLogStreamEntry(fields);
      if (invalid.length > 0) throw new Error(`invalid function log lines on the stream: ${JSON.stringify(invalid)}`);
      return lines;
    });
  } finally {
    redis.disconnect();
  }
}

/** The first function log line of runner `prefix` that `match` accepts, once it is shipped. */
export function functionLogLine(
  prefix: string,
  match: (line: FunctionLogRecord) => boolean,
  timeoutMs = 10_000,
): Promise<FunctionLogRecord> {
  return waitFor(async () => (await functionLogLines(prefix)).find(match), timeoutMs, 'the function log line');
}
