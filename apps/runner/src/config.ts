import { env } from '@ignite/service-kit';
import { z } from 'zod';

const MiB = 1024 * 1024;

const count = (fallback: number) => z.coerce.number().int().positive().default(fallback);
const milliseconds = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** An unset or empty variable is `undefined`. */
const optionalString = z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).optional());

/**
 * The runner's configuration: environment variables, parsed once at start. Limits that an app
 * can override (`apps.timeoutMs`, `apps.memoryMb`) are defaults here.
 */
export const RunnerConfigSchema = z
  .object({
    /** Port of the runner's HTTP server (invocations, health, metrics). */
    RUNNER_PORT: env.port(8081),
    /** Address the runner's HTTP server listens on. */
    RUNNER_HOST: z.string().min(1).default('127.0.0.1'),
    /** Postgres: apps and their active releases are read from here (read only). */
    DATABASE_URL: env.databaseUrl,
    /** Redis: release announcements (pub/sub) and invocation reports (stream). */
    REDIS_URL: env.redisUrl,
    /** The platform's data directory: artifacts are read from `<dir>/blobs`, executables and scratch space go under `<dir>/runner`. */
    IGNITE_DATA_DIR: env.dataDir,
    /** Prefix of every Redis name (channels, streams) of this environment. */
    IGNITE_QUEUE_PREFIX: z.preprocess((value) => (value === '' ? undefined : value), z.string().min(1).default('ignite')),
    /**
     * Every invocation on either port must carry it in `x-ignite-internal-token` (else 401); the
     * API sends it. Required unless `RUNNER_ALLOW_UNAUTHENTICATED` (`npm start` generates one).
     */
    RUNNER_INTERNAL_TOKEN: optionalString,
    /** `true`: without `RUNNER_INTERNAL_TOKEN`, take invocations from anyone who reaches the ports (tests, benchmarks). */
    RUNNER_ALLOW_UNAUTHENTICATED: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    /** Default per-invocation time limit (an app's `timeoutMs` overrides it); past it: 504 and the instance is killed. */
    RUNNER_INVOCATION_TIMEOUT_MS: milliseconds(30_000),
    /** Default resident-memory limit per instance in MiB (an app's `memoryMb` overrides it); over it the instance is killed. */
    RUNNER_MEMORY_LIMIT_MB: count(256),
    /**
     * Address space granted on top of the memory limit (`prlimit --as`), a hard backstop between two
     * resident-memory checks: thread stacks and allocator arenas reserve address space they never touch.
     * 0 disables the address-space limit (then only the resident-memory check applies).
     */
    RUNNER_ADDRESS_SPACE_HEADROOM_MB: z.coerce.number().int().min(0).default(512),
    /** How often each instance's resident memory is checked. */
    RUNNER_MEMORY_CHECK_INTERVAL_MS: milliseconds(100),
    /** `prlimit` from util-linux, used to start programs with resource limits; empty: start them directly. */
    RUNNER_PRLIMIT_PATH: z.preprocess((value) => (value === undefined ? '/usr/bin/prlimit' : value), z.string()),
    /**
     * dash, kept started ahead of time by the spawn helper so that a cold start skips a fork and
     * `prlimit`'s exec (the shell sets the limits and `exec`s the program); empty: fork every start.
     * It must be dash or another POSIX shell without read-only variables (bash's `UID` would stop a start).
     */
    RUNNER_STANDBY_SHELL: z.preprocess((value) => (value === undefined ? '/bin/dash' : value), z.string()),
    /**
     * How native instances run: `namespaces` (default) — each in a sandbox of its own (user, pid,
     * mount, network, ipc, uts and cgroup namespaces, an unprivileged uid, a read-only view of the
     * shared libraries, its own /proc, /tmp and scratch, a cgroup, rlimits, seccomp; see
     * apps/runner/sandbox); `none` — as plain processes beside the runner, for trusted code only
     * (a warning at every start).
     */
    RUNNER_SANDBOX: z.enum(['namespaces', 'none']).default('namespaces'),
    /** The sandbox launcher (`ignite-sandbox`, built by provisioning into apps/runner/dist). */
    RUNNER_SANDBOX_LAUNCHER: optionalString,
    /** Host uids of the sandboxes (one per sandbox: a runner running as root maps each to its own). */
    RUNNER_SANDBOX_UID_BASE: z.coerce.number().int().min(1).max(4_294_000_000).default(200_000),
    RUNNER_SANDBOX_UID_COUNT: z.coerce.number().int().min(16).default(65_536),
    /** Sandboxes made ahead of need (per descriptor layout), so that a cold start does not wait for one. */
    RUNNER_SANDBOX_STANDBYS: z.coerce.number().int().min(0).max(64).default(2),
    /** Processes and threads of one instance, its children included (a fork bomb stops there). */
    RUNNER_SANDBOX_PROCESSES: count(256),
    /** Open descriptors per process of an instance. */
    RUNNER_SANDBOX_OPEN_FILES: count(1024),
    /** An instance's scratch directory (`ctx.temp_store()`, a tmpfs counted in its memory), also its largest file. */
    RUNNER_SANDBOX_SCRATCH_MB: count(512),
    /** An instance's private /tmp (a tmpfs counted in its memory). */
    RUNNER_SANDBOX_TMP_MB: count(64),
    /** Host paths a sandbox sees read only, comma-separated; empty: the shared library directories (/lib, /lib64, /usr/lib/x86_64-linux-gnu, /usr/lib64). */
    RUNNER_SANDBOX_READ_ONLY: z
      .string()
      .default('')
      .transform((value) =>
        value
          .split(',')
          .map((path) => path.trim())
          .filter((path) => path !== ''),
      )
      .refine((paths) => paths.every((path) => path.startsWith('/')), 'every path must be absolute'),
    /** Per-instance cgroups where this process can write a cgroup hierarchy (`auto`), or never (`none`: rlimits only). */
    RUNNER_SANDBOX_CGROUPS: z.enum(['auto', 'none']).default('auto'),
    /** A warm instance with nothing to do for this long is stopped. */
    RUNNER_IDLE_TIMEOUT_MS: milliseconds(300_000),
    /** How long a program may take to become ready; past it the start fails (502) and the program is killed. */
    RUNNER_START_TIMEOUT_MS: milliseconds(10_000),
    /** How long a stopping instance may drain (SIGTERM) before it is killed (SIGKILL). */
    RUNNER_STOP_GRACE_MS: milliseconds(5_000),
    /** Most instances of one function (of its active release) at a time. */
    RUNNER_MAX_INSTANCES_PER_FUNCTION: count(4),
    /** Most instances on this runner, all functions together; when full, idle instances are evicted, least recently used first. */
    RUNNER_MAX_INSTANCES: count(64),
    /** Most invocations one instance serves at the same time (its keep-alive connections). */
    RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: count(16),
    /** How long an invocation may wait for a free instance before it gets 503. */
    RUNNER_QUEUE_WAIT_MS: milliseconds(2_000),
    /** Most invocations waiting for a free instance, per function; beyond it: 503 at once. */
    RUNNER_QUEUE_LENGTH: count(256),
    /** Largest request body the runner accepts (413 beyond). */
    RUNNER_MAX_BODY_BYTES: count(6 * MiB),
    /** How long a resolved `org/app` → release entry is trusted without an announcement (announcements drop it at once). */
    RUNNER_RELEASE_CACHE_TTL_MS: milliseconds(60_000),
    /** Ports handed to programs (two per instance: `PORT` and `IGNITE_PROBE_PORT`), below the kernel's ephemeral range. */
    RUNNER_INSTANCE_PORT_MIN: port(20_000),
    RUNNER_INSTANCE_PORT_MAX: port(29_999),
    /** Most stderr lines per second logged from one instance; the rest are counted and dropped. */
    RUNNER_FUNCTION_LOG_LINES_PER_SECOND: count(1_000),
    /**
     * wasm: the wasm host (`ignite-wasm-host`, apps/runner/wasm-host, built by provisioning into
     * apps/runner/dist): one process per wasm release, started like a native program. Missing:
     * wasm releases are refused (422) with a warning at start.
     */
    RUNNER_WASM_HOST: optionalString,
    /**
     * wasm: a host's own memory on top of the function's memory limit (the function's limit holds
     * each request's component instance; the host process as a whole, its runtime and the pool's
     * resident pages, is held to the limit plus this by its cgroup or the resident-memory watch).
     */
    RUNNER_WASM_HOST_MEMORY_MB: count(64),
    /** wasm: how long compiling a component here may take (when no precompiled file fits this runner's host). */
    RUNNER_WASM_PRECOMPILE_TIMEOUT_MS: milliseconds(120_000),
    /**
     * wasm: a release announced as published gets its host started at once (when the runner has
     * room), so that its first invocation finds it serving instead of starting it.
     */
    RUNNER_WASM_START_ON_PUBLISH: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    /**
     * Direct connections: a second port where a connection whose first request invokes a native
     * function is handed to an instance of it, which serves the connection itself (no proxy in
     * the byte path; a wasm function's connections are served through the proxy); see
     * apps/runner/src/direct. `false` turns the port off.
     */
    RUNNER_DIRECT: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    /** The direct port (on `RUNNER_HOST`). */
    RUNNER_DIRECT_PORT: env.port(8082),
    /** A direct connection idle for this long goes back to the runner (so that it holds no instance). */
    RUNNER_DIRECT_IDLE_MS: milliseconds(1_000),
    /**
     * The public route (`/v1/orgs/{org}/apps/{app}/invoke`): how long an API key's answer (its org,
     * or "no such key") is trusted without a notice from the API, and how long a handed-over
     * connection stays authenticated before the runner checks its key again. The API's notice
     * makes a revocation immediate; this bounds one lost while Redis was away.
     */
    RUNNER_API_KEY_CACHE_TTL_MS: milliseconds(10_000),
    /** Per-app invocations a second on the public route, per runner (0: none); an app's `rateLimitPerSecond` replaces it. */
    RUNNER_APP_RATE_LIMIT: limit(0),
    /** Per-app invocations at the same time on the public route, per runner (0: none); an app's `concurrencyLimit` replaces it. */
    RUNNER_APP_CONCURRENCY: limit(0),
    /** Per-org invocations a second on the public route, all its apps together, per runner (0: none). */
    RUNNER_ORG_RATE_LIMIT: limit(0),
    /** Per-org invocations at the same time on the public route, all its apps together, per runner (0: none). */
    RUNNER_ORG_CONCURRENCY: limit(1_000),
    /** Level of the runner's own logs (function logs are `info`). */
    LOG_LEVEL: env.logLevel,
  })
  .refine((config) => config.RUNNER_INTERNAL_TOKEN !== undefined || config.RUNNER_ALLOW_UNAUTHENTICATED, {
    message:
      'RUNNER_INTERNAL_TOKEN is not set: the runner would take invocations from anyone who can reach its ports; set it (and the same on the API), or RUNNER_ALLOW_UNAUTHENTICATED=true on a network you trust',
    path: ['RUNNER_INTERNAL_TOKEN'],
  })
  .refine((config) => config.RUNNER_INSTANCE_PORT_MAX - config.RUNNER_INSTANCE_PORT_MIN >= 16, {
    message: 'RUNNER_INSTANCE_PORT_MAX must be at least 16 above RUNNER_INSTANCE_PORT_MIN',
    path: ['RUNNER_INSTANCE_PORT_MAX'],
  });

/** A limit: a whole number, 0 for none. */
function limit(fallback: number) {
  return z.coerce.number().int().min(0).default(fallback);
}

function port(fallback: number) {
  return z.coerce.number().int().min(1024).max(65535).default(fallback);
}

export type RunnerConfig = z.infer<typeof RunnerConfigSchema>;
