import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** Where the CLI keeps its login; the local platform writes it on first start (no login step). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.IGNITE_CLI_CONFIG || join(homedir(), '.config', 'ignite', 'config.json');
}

/** The file's fields (each optional; one that is not a string is ignored). */
export interface StoredConfig {
  url?: string;
  org?: string;
  key?: string;
  invokeUrl?: string;
}
const STORED_FIELDS = ['url', 'org', 'key', 'invokeUrl'] as const;

export interface CliConfig {
  /** The API (the control plane). */
  url: string;
  /** Where invocations go: the data plane's public URL (same route as the API's); the API's URL when none is known. */
  invokeUrl: string;
  org: string;
  key: string | undefined;
  source: string;
}

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** Read by hand, not with zod: every command reads it, and zod's load would cost `ignite invoke` more than its call. */
function readStored(path: string): StoredConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return {};
  }
  if (raw === null || typeof raw !== 'object') return {};
  const stored: StoredConfig = {};
  for (const field of STORED_FIELDS) {
    const value = (raw as Record<string, unknown>)[field];
    if (typeof value === 'string') stored[field] = value;
  }
  return stored;
}

/**
 * The stored config, with `IGNITE_API_URL`, `IGNITE_INVOKE_URL`, `IGNITE_API_KEY` and
 * `IGNITE_ORG` taking precedence. An API URL given without an invoke URL is used for both (its
 * invoke route forwards to the data plane).
 */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env): CliConfig {
  const path = configPath(env);
  const stored = readStored(path);
  const url = (env.IGNITE_API_URL || stored.url || DEFAULT_API_URL).replace(/\/+$/, '');
  const storedInvokeUrl = env.IGNITE_API_URL ? undefined : stored.invokeUrl;
  return {
    url,
    invokeUrl: (env.IGNITE_INVOKE_URL || storedInvokeUrl || url).replace(/\/+$/, ''),
    org: env.IGNITE_ORG || stored.org || 'org',
    key: env.IGNITE_API_KEY || stored.key,
    source: path,
  };
}

export function saveCliConfig(
  config: StoredConfig & { url: string; org: string; key: string },
  env: NodeJS.ProcessEnv = process.env,
): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}
