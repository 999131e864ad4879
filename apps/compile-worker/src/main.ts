import { join, resolve } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { createPrismaClient } from '@ignite/database';
import { createLogger, createRedis, loadConfigOrExit } from '@ignite/service-kit';
import { BuildWorker } from './build-worker';
import { BuildRepository } from './builds/build-repository';
import { compileWorkerConfigSchema } from './config';
import { LocalExecutor } from './executors/local-executor';
import { resolveRustToolchain } from './executors/rust-toolchain';
import { BuildPipeline } from './pipeline/build-pipeline';

async function main(): Promise<void> {
  const config = loadConfigOrExit('compile-worker', compileWorkerConfigSchema);
  const logger = createLogger('compile-worker', config.LOG_LEVEL);
  const dataDir = resolve(config.IGNITE_DATA_DIR);
  const prisma = createPrismaClient(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL);
  const toolchain = resolveRustToolchain(config.RUST_TOOLCHAIN_DIR);
  const sdkPath = resolve(config.IGNITE_SDK_PATH);
  const builds = new BuildRepository(prisma, redis, config.IGNITE_QUEUE_PREFIX);
  const executor = new LocalExecutor({
    toolchain,
    sdkWorkspaceDir: resolve(sdkPath, '..'),
    cacheDir: resolve(config.IGNITE_BUILD_CACHE_DIR ?? join(dataDir, 'cache')),
    sandbox: config.BUILD_SANDBOX,
    logMaxBytes: config.BUILD_LOG_MAX_BYTES,
  });
  const pipeline = new BuildPipeline(
    builds,
    new FilesystemBlobStore(join(dataDir, 'blobs')),
    executor,
    {
      buildsDir: join(dataDir, 'builds'),
      sdkPath,
      archiveLimits: {
        maxEntries: config.ARCHIVE_MAX_ENTRIES,
        maxEntryBytes: config.ARCHIVE_MAX_ENTRY_BYTES,
        maxTotalBytes: config.ARCHIVE_MAX_TOTAL_BYTES,
        maxCompressionRatio: config.ARCHIVE_MAX_COMPRESSION_RATIO,
      },
      buildTimeoutMs: config.BUILD_TIMEOUT_MS,
      verifyTimeoutMs: config.VERIFY_TIMEOUT_MS,
      sandbox: config.BUILD_SANDBOX,
    },
    logger,
  );
  const worker = new BuildWorker(
    {
      redisUrl: config.REDIS_URL,
      prefix: config.IGNITE_QUEUE_PREFIX,
      concurrency: config.BUILD_CONCURRENCY,
      lockDurationMs: config.BUILD_LOCK_DURATION_MS,
    },
    pipeline,
    builds,
    logger,
  );
  logger.info({ toolchain: toolchain.version, executor: executor.name, sandbox: config.BUILD_SANDBOX }, 'compile worker starting');
  await worker.start();

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'compile worker stopping');
    await worker.stop();
    await prisma.$disconnect();
    redis.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`compile-worker: failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
