import { resolve } from 'node:path';
import { env } from '@ignite/service-kit';
import { z } from 'zod';

const MiB = 1024 * 1024;

/** The compile worker's configuration: environment variable → meaning, parsed once at start. */
export const compileWorkerConfigSchema = z.object({
  DATABASE_URL: env.databaseUrl,
  REDIS_URL: env.redisUrl,
  IGNITE_QUEUE_PREFIX: z.string().min(1).default('ignite'),
  /** Blobs live in `<dir>/blobs`, build directories in `<dir>/builds`, caches in `<dir>/cache`. */
  IGNITE_DATA_DIR: env.dataDir,
  /** Shared cargo registry and dependency builds; keep it across builds (and test runs) for warm builds. */
  IGNITE_BUILD_CACHE_DIR: z.string().optional(),
  /** BullMQ lock of a running build; a worker silent this long is presumed dead and its build retried. */
  BUILD_LOCK_DURATION_MS: z.coerce.number().int().min(1000).default(60_000),
  /** The bundled SDK crate that replaces `ignite = "*"`. */
  IGNITE_SDK_PATH: z.string().default(resolve(__dirname, '..', '..', '..', 'sdk', 'ignite-rs', 'ignite')),
  /** Builds run at once by this worker (cargo itself uses every core). */
  BUILD_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Wall-clock limit of one build (fetch + compile). */
  BUILD_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(10 * 60_000),
  /** Build log bytes kept per build; past it the log says it was truncated (the build goes on). */
  BUILD_LOG_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * MiB),
  /** `bwrap` (bubblewrap, the default, required) or `none` (trusted sources only: no isolation). */
  BUILD_SANDBOX: z.enum(['bwrap', 'none']).default('bwrap'),
  /**
   * The host uid and gid build sandboxes run as when the worker runs as root: unprivileged, used
   * for nothing else (no account needed). A worker that is not root runs them as itself.
   */
  BUILD_SANDBOX_UID: z.coerce.number().int().min(1).max(4_294_967_294).default(200_100),
  BUILD_SANDBOX_GID: z.coerce.number().int().min(1).max(4_294_967_294).default(200_100),
  /** Size cap of each build step's private /tmp (a tmpfs, so memory). */
  BUILD_TMP_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(MiB)
    .default(1024 * MiB),
  /** `local` runs cargo on this machine; `kubernetes` runs each build as a Job (see executors/kubernetes/kubernetes-config.ts). */
  BUILD_EXECUTOR: z.enum(['local', 'kubernetes']).default('local'),
  /** Directory of the Rust toolchain (its bin/cargo and bin/rustc); default: what `rustup which cargo` finds. */
  RUST_TOOLCHAIN_DIR: z.string().optional(),
  /**
   * How wasm32-wasip2 components are built: `prebuilt` (the Rust toolchain has the target, as in the
   * compile image), `build-std` (the toolchain provisioning assembled from Debian's packages, with a
   * standard library built once) or `auto` (prebuilt when present, else build-std).
   */
  WASM_TOOLCHAIN: z.enum(['auto', 'prebuilt', 'build-std']).default('auto'),
  /** Where provisioning keeps caches that outlive a checkout (the build-std wasm toolchain); default `~/.cache/ignite`. */
  IGNITE_CACHE_HOME: z.preprocess((value) => (value === '' ? undefined : value), z.string().optional()),
  /** How long a fresh native artifact may take to answer its readiness probe during verification. */
  VERIFY_TIMEOUT_MS: z.coerce.number().int().min(100).default(5000),
  ARCHIVE_MAX_ENTRIES: z.coerce.number().int().min(1).default(10_000),
  ARCHIVE_MAX_ENTRY_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(64 * MiB),
  ARCHIVE_MAX_TOTAL_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(256 * MiB),
  ARCHIVE_MAX_COMPRESSION_RATIO: z.coerce.number().min(1).default(200),
  LOG_LEVEL: env.logLevel,
});

export type CompileWorkerConfig = z.infer<typeof compileWorkerConfigSchema>;
