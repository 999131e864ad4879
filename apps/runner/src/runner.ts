import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { createPrismaClient, type PrismaClient } from '@ignite/database';
import { createRedis, type Logger } from '@ignite/service-kit';
import type { Redis } from 'ioredis';
import { ArtifactCache } from './artifacts';
import type { RunnerConfig } from './config';
import { ApiKeyCache } from './data-plane/api-keys';
import { InvokeAccess } from './data-plane/invoke-access';
import { InvocationLimits } from './data-plane/limits';
import { DirectServer } from './direct/direct-server';
import { newExecutionId } from './execution-id';
import { InternalToken } from './internal-token';
import { LogShipper } from './logs/log-shipper';
import { Metrics } from './metrics';
import { MemoryWatcher } from './native/memory-watch';
import { NativeKind } from './native/native-instance';
import { PortAllocator } from './native/ports';
import { DEFAULT_LAUNCHER, prepareSandboxes, probeSandbox, releaseSandboxes } from './native/sandbox';
import { Spawner } from './native/spawner';
import type { SandboxOptions } from './native/spawner-protocol';
import { InstancePool } from './pool';
import { ReleaseResolver } from './release-resolver';
import { InvocationReporter } from './reporter';
import { RunnerServer } from './server';
import { PrecompiledComponents, precompiledInDatabase, precompileLimits } from './wasm/precompiled';
import { DEFAULT_WASM_HOST, WasmKind } from './wasm/wasm-instance';

export interface RunnerOptions {
  logger: Logger;
  /** Process-level metrics (CPU, memory, event loop) on /metrics. */
  defaultMetrics?: boolean;
}

/** All the runner's parts, wired; `start` opens the connections and listens, `stop` drains. */
export class Runner {
  readonly metrics: Metrics;
  readonly pool: InstancePool;
  readonly resolver: ReleaseResolver;
  readonly keys: ApiKeyCache;
  readonly reporter: InvocationReporter;
  readonly logShipper: LogShipper;
  readonly server: RunnerServer;
  private readonly prisma: PrismaClient;
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly memory: MemoryWatcher;
  private readonly native: NativeKind;
  /** Null when the wasm host is not built (wasm releases are refused). */
  private readonly wasm: WasmKind | null;
  private readonly spawner: Spawner;
  /** The sandboxes programs start in (`RUNNER_SANDBOX=namespaces`). */
  private readonly sandbox: SandboxOptions | null;
  private readonly logger: Logger;
  private address: AddressInfo | null = null;
  /** The direct port's server (`RUNNER_DIRECT`), and where it listens. */
  private readonly direct: DirectServer | null = null;
  private directAddressInfo: AddressInfo | null = null;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly config: RunnerConfig,
    options: RunnerOptions,
  ) {
    const logger = options.logger;
    this.logger = logger;
    const dataDir = resolve(config.IGNITE_DATA_DIR);
    const prefix = config.IGNITE_QUEUE_PREFIX;
    // A handful of statements, one of them on every cold start: prepared once per connection.
    this.prisma = createPrismaClient(config.DATABASE_URL, { preparedStatements: true });
    // Reports and readiness: fail fast while Redis is away rather than queue without bound.
    this.redis = createRedis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.subscriber = createRedis(config.REDIS_URL);
    let lastRedisError = 0;
    const onRedisError = (error: Error) => {
      const now = Date.now();
      if (now - lastRedisError < 10_000) return;
      lastRedisError = now;
      logger.warn({ err: error }, 'redis connection error');
    };
    this.redis.on('error', onRedisError);
    this.subscriber.on('error', onRedisError);

    this.memory = new MemoryWatcher(config.RUNNER_MEMORY_CHECK_INTERVAL_MS);
    let prlimitPath: string | null = config.RUNNER_PRLIMIT_PATH === '' ? null : config.RUNNER_PRLIMIT_PATH;
    if (prlimitPath !== null && !existsSync(prlimitPath)) {
      logger.warn({ prlimitPath }, 'prlimit not found: programs start without an address-space limit (resident memory is still checked)');
      prlimitPath = null;
    }
    let standbyShell: string | null = config.RUNNER_STANDBY_SHELL === '' ? null : config.RUNNER_STANDBY_SHELL;
    if (standbyShell !== null && !existsSync(standbyShell)) {
      logger.warn({ standbyShell }, 'standby shell not found: every program start forks the spawn helper');
      standbyShell = null;
    }
    let pool: InstancePool | null = null;
    this.metrics = new Metrics(() => pool?.stats() ?? { starting: 0, ready: 0, busy: 0, draining: 0, stopping: 0, waiting: 0 }, {
      defaultMetrics: options.defaultMetrics ?? false,
    });
    this.sandbox =
      config.RUNNER_SANDBOX === 'none'
        ? null
        : prepareSandboxes(
            {
              launcher: config.RUNNER_SANDBOX_LAUNCHER ?? DEFAULT_LAUNCHER,
              dataDir,
              uidBase: config.RUNNER_SANDBOX_UID_BASE,
              uidCount: config.RUNNER_SANDBOX_UID_COUNT,
              standbys: config.RUNNER_SANDBOX_STANDBYS,
              tmpMb: config.RUNNER_SANDBOX_TMP_MB,
              scratchMb: config.RUNNER_SANDBOX_SCRATCH_MB,
              readOnly: config.RUNNER_SANDBOX_READ_ONLY,
              cgroups: config.RUNNER_SANDBOX_CGROUPS,
            },
            logger,
          );
    if (this.sandbox === null) {
      logger.warn(
        'RUNNER_SANDBOX=none: functions run as plain processes beside the runner, with its uid and its view of the host (trusted code only)',
      );
    }
    this.logShipper = new LogShipper({ redis: this.redis, prefix, logger, metrics: this.metrics });
    this.spawner = new Spawner(logger, { prlimitPath, standbyShell, sandbox: this.sandbox });
    const artifacts = new ArtifactCache(
      new FilesystemBlobStore(join(dataDir, 'blobs')),
      join(dataDir, 'runner', 'bin'),
      this.sandbox === null,
    );
    const programs = {
      spawner: this.spawner,
      ports: new PortAllocator(config.RUNNER_INSTANCE_PORT_MIN, config.RUNNER_INSTANCE_PORT_MAX),
      memory: this.memory,
      logger,
      instancesDir: join(dataDir, 'runner', 'instances'),
      limitResources: prlimitPath !== null,
      addressSpaceHeadroomMb: config.RUNNER_ADDRESS_SPACE_HEADROOM_MB,
      startTimeoutMs: config.RUNNER_START_TIMEOUT_MS,
      stopGraceMs: config.RUNNER_STOP_GRACE_MS,
      maxInFlight: config.RUNNER_MAX_IN_FLIGHT_PER_INSTANCE,
      logLinesPerSecond: config.RUNNER_FUNCTION_LOG_LINES_PER_SECOND,
      logSink: this.logShipper,
      maxBodyBytes: config.RUNNER_MAX_BODY_BYTES,
      sandbox:
        this.sandbox === null
          ? null
          : {
              cgroups: this.sandbox.cgroup !== null,
              processes: config.RUNNER_SANDBOX_PROCESSES,
              openFiles: config.RUNNER_SANDBOX_OPEN_FILES,
              scratchMb: config.RUNNER_SANDBOX_SCRATCH_MB,
            },
    };
    const native = new NativeKind({ ...programs, artifacts, directIdleMs: config.RUNNER_DIRECT_IDLE_MS });
    this.native = native;
    const wasmHost = config.RUNNER_WASM_HOST ?? DEFAULT_WASM_HOST;
    if (existsSync(wasmHost)) {
      this.wasm = new WasmKind({
        ...programs,
        host: wasmHost,
        hostMemoryMb: config.RUNNER_WASM_HOST_MEMORY_MB,
        directIdleMs: config.RUNNER_DIRECT_IDLE_MS,
        precompiled: new PrecompiledComponents({
          host: wasmHost,
          artifacts,
          lookup: precompiledInDatabase(this.prisma),
          spawner: this.spawner,
          sandbox:
            this.sandbox === null
              ? null
              : precompileLimits(config.RUNNER_SANDBOX_SCRATCH_MB, config.RUNNER_SANDBOX_PROCESSES, config.RUNNER_SANDBOX_OPEN_FILES),
          dir: join(dataDir, 'runner', 'wasm'),
          timeoutMs: config.RUNNER_WASM_PRECOMPILE_TIMEOUT_MS,
          logger,
        }),
      });
    } else {
      this.wasm = null;
      logger.warn(
        { wasmHost, fix: 'npm start builds it, or: cargo build --release --manifest-path apps/runner/wasm-host/Cargo.toml' },
        'the wasm host is not built: wasm releases are refused',
      );
    }
    pool = new InstancePool({
      kinds: this.wasm === null ? [native] : [native, this.wasm],
      maxInstancesPerFunction: config.RUNNER_MAX_INSTANCES_PER_FUNCTION,
      maxInstances: config.RUNNER_MAX_INSTANCES,
      maxInFlightPerInstance: config.RUNNER_MAX_IN_FLIGHT_PER_INSTANCE,
      queueWaitMs: config.RUNNER_QUEUE_WAIT_MS,
      queueLength: config.RUNNER_QUEUE_LENGTH,
      idleTimeoutMs: config.RUNNER_IDLE_TIMEOUT_MS,
      logger,
      metrics: this.metrics,
    });
    this.pool = pool;
    this.resolver = new ReleaseResolver({
      prisma: this.prisma,
      subscriber: this.subscriber,
      prefix,
      logger,
      cacheTtlMs: config.RUNNER_RELEASE_CACHE_TTL_MS,
      defaultTimeoutMs: config.RUNNER_INVOCATION_TIMEOUT_MS,
      defaultMemoryMb: config.RUNNER_MEMORY_LIMIT_MB,
    });
    // A new active release: resolve it now, so the old instances drain before the next invocation;
    // a wasm release's precompiled component is made ready (fetched and verified, or compiled here)
    // and its host started (RUNNER_WASM_START_ON_PUBLISH), even on a runner that never served the
    // app, so that its first invocation finds it serving; a native release's artifact is verified,
    // so that its first invocation starts the program at once (and a corrupt or missing artifact is
    // found now, not by a caller).
    this.resolver.onActivated((event) => {
      const slash = event.functionId.indexOf('/');
      if (slash <= 0) return;
      const known = this.pool.knows(event.appId);
      this.resolver
        .resolve(event.functionId.slice(0, slash), event.functionId.slice(slash + 1))
        .then((fn) => {
          if (fn === null) return;
          if (known) this.pool.refresh(fn);
          if (fn.release?.id !== event.releaseId) return;
          const wasm = this.wasm;
          const prepared =
            fn.release.target === 'native'
              ? artifacts.executable(fn.release.artifactSha256)
              : wasm === null
                ? Promise.resolve()
                : wasm.prepare(fn).then(() => {
                    if (config.RUNNER_WASM_START_ON_PUBLISH) this.pool.prewarm(fn);
                  });
          prepared.catch((error: unknown) =>
            logger.warn({ err: error, functionId: fn.functionId, target: fn.release?.target }, 'could not prepare the new release'),
          );
        })
        .catch((error: unknown) => logger.warn({ err: error, functionId: event.functionId }, 'could not resolve the new release'));
    });
    this.keys = new ApiKeyCache({
      prisma: this.prisma,
      subscriber: this.subscriber,
      prefix,
      logger,
      ttlMs: config.RUNNER_API_KEY_CACHE_TTL_MS,
    });
    const access = new InvokeAccess(this.resolver, this.keys);
    const limits = new InvocationLimits({
      appRatePerSecond: config.RUNNER_APP_RATE_LIMIT,
      appConcurrency: config.RUNNER_APP_CONCURRENCY,
      orgRatePerSecond: config.RUNNER_ORG_RATE_LIMIT,
      orgConcurrency: config.RUNNER_ORG_CONCURRENCY,
    });
    const internalToken = new InternalToken(config.RUNNER_INTERNAL_TOKEN);
    this.reporter = new InvocationReporter({ redis: this.redis, prefix, logger, metrics: this.metrics });
    this.server = new RunnerServer({
      resolver: this.resolver,
      access,
      limits,
      pool: this.pool,
      reporter: this.reporter,
      metrics: this.metrics,
      logger,
      maxBodyBytes: config.RUNNER_MAX_BODY_BYTES,
      internalToken,
      executionId: newExecutionId,
      readiness: () => this.readiness(),
    });
    if (config.RUNNER_DIRECT) {
      this.direct = new DirectServer({
        resolver: this.resolver,
        access,
        limits,
        accessTtlMs: config.RUNNER_API_KEY_CACHE_TTL_MS,
        maxBodyBytes: config.RUNNER_MAX_BODY_BYTES,
        pool: this.pool,
        reporter: this.reporter,
        metrics: this.metrics,
        logger,
        fallback: this.server.http,
        internalToken,
        executionId: newExecutionId,
      });
      native.serveDirect(this.direct);
      this.wasm?.serveDirect(this.direct);
    }
  }

  /** Subscribes to release announcements and listens; a Redis still away is waited for a few seconds, not forever. */
  async start(): Promise<AddressInfo> {
    await this.spawner.start();
    // Before anything listens: a host that cannot make a sandbox must not serve functions.
    if (this.sandbox !== null) await probeSandbox(this.spawner, this.sandbox.launcher);
    const redisUp = Promise.all([this.resolver.start(), this.keys.start(), waitReady(this.redis)]).then(
      () => true,
      (error: unknown) => {
        this.logger.error({ err: error }, 'could not subscribe to release announcements and key notices');
        return false;
      },
    );
    const waited = await Promise.race([redisUp, delay(2_000).then(() => false)]);
    if (!waited) this.logger.warn('redis is not reachable yet: serving anyway (release announcements and reports resume with it)');
    this.address = await this.server.listen(this.config.RUNNER_PORT, this.config.RUNNER_HOST);
    if (this.direct !== null) {
      this.directAddressInfo = await this.direct.listen(this.config.RUNNER_DIRECT_PORT, this.config.RUNNER_HOST);
    }
    this.logger.info(
      { host: this.address.address, port: this.address.port, directPort: this.directAddressInfo?.port ?? null },
      'runner listening',
    );
    return this.address;
  }

  /** Where the direct port listens (null when `RUNNER_DIRECT` is off or before `start`). */
  get directAddress(): AddressInfo | null {
    return this.directAddressInfo;
  }

  /** The runner's base URL once it listens. */
  get url(): string {
    if (this.address === null) throw new Error('the runner is not listening');
    return `http://${this.address.address}:${this.address.port}`;
  }

  /** Drains: no new invocations, in-flight ones finish, instances stop, reports are flushed. */
  stop(timeoutMs = this.config.RUNNER_INVOCATION_TIMEOUT_MS + 1_000): Promise<void> {
    this.stopping ??= this.drain(timeoutMs);
    return this.stopping;
  }

  private async drain(timeoutMs: number): Promise<void> {
    // Connections in programs' hands come back as their instances stop, and are closed then.
    const directClosed = this.direct?.close();
    await this.server.close(timeoutMs);
    await this.pool.shutdown(this.config.RUNNER_STOP_GRACE_MS + 1_000);
    if (directClosed !== undefined) await Promise.race([directClosed, delay(2_000)]);
    await this.native.settled();
    await this.wasm?.settled();
    await this.spawner.close();
    if (this.sandbox !== null) releaseSandboxes(this.sandbox);
    this.memory.close();
    await Promise.race([Promise.all([this.reporter.close(), this.logShipper.close()]), delay(2_000)]);
    this.subscriber.disconnect();
    this.redis.disconnect();
    await this.prisma.$disconnect();
    this.logger.info('runner stopped');
  }

  private async readiness(): Promise<Record<string, boolean>> {
    const check = async (probe: () => Promise<unknown>) => {
      try {
        await Promise.race([probe(), delay(1_000).then(() => Promise.reject(new Error('timeout')))]);
        return true;
      } catch {
        return false;
      }
    };
    const [postgres, redis] = await Promise.all([check(() => this.prisma.$queryRaw`SELECT 1`), check(() => this.redis.ping())]);
    return { postgres, redis };
  }
}

function waitReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => redis.once('ready', () => resolve()));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
