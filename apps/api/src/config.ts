import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { env, loadConfigOrExit, parseConfig } from '@ignite/service-kit';
import { z } from 'zod';

const MIB = 1024 * 1024;

/** Lower-case letters, digits and `-`, starting with a letter, at most 63 characters: org slugs and app names. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,62}$/;
export const NAME_RULE = 'lower-case letters, digits and "-", starting with a letter, at most 63 characters';

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .default('true')
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = (fallback: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').positive('must be above 0').default(fallback);

/**
 * The API's whole configuration, read from the environment once at start. The keys are the
 * environment variable names; an empty variable counts as unset.
 */
export const ApiConfigSchema = z.preprocess(
  (raw) => (raw && typeof raw === 'object' ? Object.fromEntries(Object.entries(raw).filter(([, value]) => value !== '')) : raw),
  z.object({
    PORT: env.port(8080),
    HOST: z.string().min(1).default('127.0.0.1'),
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    /** Blobs live in `<IGNITE_DATA_DIR>/blobs`, uploads in progress in `<IGNITE_DATA_DIR>/tmp`. */
    IGNITE_DATA_DIR: env.dataDir,
    IGNITE_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, "_", "." or "-"')
      .default('ignite'),
    /**
     * The data plane's entry (the runner's direct port): the API's invoke route forwards there, on
     * the same route; the local bootstrap writes it into the CLI config as its `invokeUrl`.
     */
    RUNNER_DIRECT_URL: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).default('http://127.0.0.1:8082'),
    RUNNER_INTERNAL_TOKEN: z.string().min(1).optional(),
    /** Largest source archive accepted by `PUT .../draft`. */
    MAX_ARCHIVE_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(50 * MIB),
    /** Largest JSON (or other) request body, invocation payloads included. */
    MAX_BODY_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(6 * MIB),
    // What a tenant may ask for (an operator's maxima and per-org quotas: see "Limits and quotas"
    // in the README). A refusal names the variable that raises it.
    /** Largest `memoryMb` an app may have. */
    APP_MAX_MEMORY_MB: positiveInt(2_048),
    /** Largest `timeoutMs` an app may have. */
    APP_MAX_TIMEOUT_MS: positiveInt(300_000),
    /** Apps an org may have. */
    ORG_MAX_APPS: positiveInt(100),
    /** Builds an org may have queued or running at once. */
    ORG_MAX_BUILDS_IN_FLIGHT: positiveInt(10),
    /** Bytes of drafts (source archives, one per app) an org may store. */
    ORG_MAX_DRAFT_BYTES: positiveInt(1024 * MIB),
    /** Invocation records older than this many days are deleted. */
    INVOCATION_RETENTION_DAYS: positiveInt(7),
    /** The log lines of builds that finished more than this many days ago are deleted. */
    BUILD_LOG_RETENTION_DAYS: positiveInt(7),
    /** Functions' log lines older than this many days are deleted. */
    FUNCTION_LOG_RETENTION_DAYS: positiveInt(7),
    IGNITE_DEFAULT_ORG: z.string().regex(NAME_PATTERN, `must be ${NAME_RULE}`).default('org'),
    IGNITE_BOOTSTRAP_LOCAL: booleanFlag,
    IGNITE_CLI_CONFIG: z.string().min(1).default('~/.config/ignite/config.json'),
    /** The web console's built files, served at /console (default: apps/console/dist of this checkout or image). */
    CONSOLE_DIR: z.string().min(1).optional(),
    LOG_LEVEL: env.logLevel,
  }),
);
export type ApiConfig = z.infer<typeof ApiConfigSchema>;

/** Parses the configuration (throws a ConfigError naming each bad variable). */
export function parseApiConfig(source: NodeJS.ProcessEnv = process.env): ApiConfig {
  return parseConfig(ApiConfigSchema, source);
}

/** Parses the configuration or stops the process with one line per bad variable. */
export function loadApiConfigOrExit(source: NodeJS.ProcessEnv = process.env): ApiConfig {
  return loadConfigOrExit('api', ApiConfigSchema, source);
}

export function blobsDir(config: ApiConfig): string {
  return resolve(config.IGNITE_DATA_DIR, 'blobs');
}

export function uploadsDir(config: ApiConfig): string {
  return resolve(config.IGNITE_DATA_DIR, 'tmp', 'uploads');
}

/** `~` and `~/...` expand to the home directory. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return resolve(path);
}
