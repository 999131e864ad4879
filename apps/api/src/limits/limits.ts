import { ErrorCode } from '@ignite/contracts';
import { DomainError } from '../common/domain-error';

/** The limits a tenant meets, each with the API setting that raises it. */
export const Limit = {
  appMemory: { name: 'app_memory_mb', setting: 'APP_MAX_MEMORY_MB' },
  appTimeout: { name: 'app_timeout_ms', setting: 'APP_MAX_TIMEOUT_MS' },
  apps: { name: 'apps_per_org', setting: 'ORG_MAX_APPS' },
  buildsInFlight: { name: 'builds_in_flight_per_org', setting: 'ORG_MAX_BUILDS_IN_FLIGHT' },
  draftBytes: { name: 'draft_bytes_per_org', setting: 'ORG_MAX_DRAFT_BYTES' },
} as const;
export type Limit = (typeof Limit)[keyof typeof Limit];

/** How long a caller over its builds in flight is told to wait before it tries again. */
const BUILDS_RETRY_AFTER_SECONDS = 10;

/**
 * The refusal of a request over `limit`: `{ error, code, limit, max, setting }`. `limit_exceeded`
 * (422) for a value or a count the caller must bring down itself; `quota_exceeded` (429, with
 * `retry-after`) for work in flight, which goes down by itself.
 */
export function overLimit(limit: Limit, max: number, message: string): DomainError {
  const transient = limit === Limit.buildsInFlight;
  const raise = `ask the platform's operator to raise ${limit.setting} (now ${max})`;
  return new DomainError(transient ? ErrorCode.quotaExceeded : ErrorCode.limitExceeded, `${message}; or ${raise}`, {
    limit: limit.name,
    max,
    setting: limit.setting,
    ...(transient ? { retryAfterSeconds: BUILDS_RETRY_AFTER_SECONDS } : {}),
  });
}
