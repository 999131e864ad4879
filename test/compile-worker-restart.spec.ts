import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { JobName, QueueName } from '@ignite/contracts';
import { createPrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import {
  repoRoot,
  rustHelloUserSource,
  tarGzOf,
  testDatabaseUrl,
  testRedisUrl,
  uniqueName,
  waitFor,
  writeFunctionSource,
} from '@ignite/testing';
import { Queue } from 'bullmq';

// The worker as a real process, killed with SIGKILL in the middle of a build: BullMQ notices the
// stalled job, a new worker takes it over, and the build finishes once, with one artifact.
jest.setTimeout(600_000);

describe('compile worker killed mid-build', () => {
  const prefix = uniqueName('ignite-test-restart');
  const dataDir = mkdtempSync(join(tmpdir(), 'ignite-restart-'));
  const prisma = createPrismaClient(testDatabaseUrl());
  const connection = createRedis(testRedisUrl());
  const queue = new Queue(QueueName.builds, { connection, prefix });
  const workers: ChildProcess[] = [];

  function startWorker(): ChildProcess {
    const child = spawn(process.execPath, [join(repoRoot, 'apps', 'compile-worker', 'dist', 'main.js')], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: testDatabaseUrl(),
        REDIS_URL: testRedisUrl(),
        IGNITE_QUEUE_PREFIX: prefix,
        IGNITE_DATA_DIR: dataDir,
        IGNITE_BUILD_CACHE_DIR: process.env.IGNITE_BUILD_CACHE_DIR ?? join(homedir(), '.cache', 'ignite', 'test-build-cache'),
        BUILD_LOCK_DURATION_MS: '3000',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
      detached: true,
    });
    workers.push(child);
    return child;
  }

  afterAll(async () => {
    for (const worker of workers) {
      try {
        if (worker.pid) process.kill(-worker.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
    await prisma.$disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('retries the build on another worker and stores one artifact', async () => {
    const source = rustHelloUserSource();
    const slow = writeFunctionSource('slow', { 'build.rs': 'fn main() { std::thread::sleep(std::time::Duration::from_secs(6)); }\n' });
    cpSync(join(slow, 'build.rs'), join(source, 'build.rs'));
    const blobs = new FilesystemBlobStore(join(dataDir, 'blobs'));
    const stored = await blobs.put(await tarGzOf(source));
    const org = await prisma.org.create({
      data: { slug: uniqueName('org'), apps: { create: { name: 'restart' } } },
      include: { apps: true },
    });
    const build = await prisma.build.create({
      data: { appId: org.apps[0]!.id, draftRevision: 1, sourceSha256: stored.sha256, target: 'native' },
    });
    await queue.add(JobName.build, { buildId: build.id }, { jobId: build.id, attempts: 3 });

    const first = startWorker();
    await waitFor(
      async () => {
        const lines = await prisma.buildLogLine.findMany({ where: { buildId: build.id } });
        return lines.some((line) => line.text.includes('Compiling rust-hello')) ? true : undefined;
      },
      300_000,
      'the first worker to be compiling',
    );
    process.kill(-first.pid!, 'SIGKILL');
    startWorker();

    const finished = await waitFor(
      async () => {
        const row = await prisma.build.findUniqueOrThrow({ where: { id: build.id } });
        return ['succeeded', 'failed', 'canceled'].includes(row.status) ? row : undefined;
      },
      300_000,
      'the build to finish on the second worker',
    );

    expect(finished.status).toBe('succeeded');
    expect(finished.attempts).toBe(2);
    const log = (await prisma.buildLogLine.findMany({ where: { buildId: build.id }, orderBy: { seq: 'asc' } })).map((l) => l.text);
    expect(log).toContain('attempt 2: the previous worker stopped before finishing');
    const stores = readdirSync(join(dataDir, 'blobs', 'sha256')).flatMap((dir) => readdirSync(join(dataDir, 'blobs', 'sha256', dir)));
    expect(stores.sort()).toEqual([stored.sha256, finished.artifactSha256].sort());
    await prisma.org.delete({ where: { id: org.id } });
  });
});
