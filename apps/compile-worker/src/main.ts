import { join, resolve } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { createPrismaClient } from '@ignite/database';
import { createLogger, createRedis, type Logger, loadConfigOrExit } from '@ignite/service-kit';
import { BuildWorker } from './build-worker';
import { BuildRepository } from './builds/build-repository';
import { type CompileWorkerConfig, compileWorkerConfigSchema } from './config';
import type { BuildExecutor } from './executors/build-executor';
import { createKubernetesExecutor, kubernetesExecutorConfigSchema } from './executors/kubernetes';
import { LocalExecutor } from './executors/local-executor';
import { resolveRustToolchain } from './executors/rust-toolchain';
import { defaultCacheHome, resolveWasmToolchain } from './executors/wasm-toolchain';
import { BuildPipeline } from './pipeline/build-pipeline';

/** Jobs outlive a crashed worker: a build claimed this long ago must have its Job by now. */
const ORPHAN_GRACE_MS = 120_000;

async function createExecutor(
  config: CompileWorkerConfig,
  context: { dataDir: string; sdkPath: string; builds: BuildRepository; logger: Logger },
): Promise<BuildExecutor> {
  if (config.BUILD_EXECUTOR === 'kubernetes') {
    const executor = createKubernetesExecutor(loadConfigOrExit('compile-worker', kubernetesExecutorConfigSchema), {
      dataDir: context.dataDir,
      sdkPath: context.sdkPath,
      logMaxBytes: config.BUILD_LOG_MAX_BYTES,
    });
    const running = await context.builds.runningBuildIds('kubernetes');
    const report = await executor.reconcileOrphans(running);
    const stale = new Set(await context.builds.runningBuildIds('kubernetes', ORPHAN_GRACE_MS));
    for (const buildId of report.vanishedBuildIds.filter((id) => stale.has(id))) {
      await context.builds.failAbandoned(buildId, 'its Kubernetes Job disappeared (deleted, or the worker stopped before creating it)');
    }
    context.logger.info({ deletedJobs: report.deletedJobs.length, vanished: report.vanishedBuildIds.length }, 'kubernetes jobs reconciled');
    return executor;
  }
  const toolchain = resolveRustToolchain(config.RUST_TOOLCHAIN_DIR);
  context.logger.info({ toolchain: toolchain.version }, 'local executor toolchain');
  return new LocalExecutor({
    toolchain,
    sdkWorkspaceDir: resolve(context.sdkPath, '..'),
    cacheDir: resolve(config.IGNITE_BUILD_CACHE_DIR ?? join(context.dataDir, 'cache')),
    sandbox: config.BUILD_SANDBOX,
    logMaxBytes: config.BUILD_LOG_MAX_BYTES,
    sandboxUser: { uid: config.BUILD_SANDBOX_UID, gid: config.BUILD_SANDBOX_GID },
    tmpMaxBytes: config.BUILD_TMP_MAX_BYTES,
    logger: context.logger,
    wasm: () =>
      resolveWasmToolchain({ mode: config.WASM_TOOLCHAIN, native: toolchain, cacheHome: config.IGNITE_CACHE_HOME ?? defaultCacheHome() }),
  });
}

async function main(): Promise<void> {
  const config = loadConfigOrExit('compile-worker', compileWorkerConfigSchema);
  const logger = createLogger('compile-worker', config.LOG_LEVEL);
  const dataDir = resolve(config.IGNITE_DATA_DIR);
  const prisma = createPrismaClient(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL);
  const sdkPath = resolve(config.IGNITE_SDK_PATH);
  const builds = new BuildRepository(prisma, redis, config.IGNITE_QUEUE_PREFIX);
  const executor = await createExecutor(config, { dataDir, sdkPath, builds, logger });
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
  logger.info({ executor: executor.name, sandbox: config.BUILD_SANDBOX }, 'compile worker starting');
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
