import { resolve } from 'node:path';
import { MIN_BUILD_TOKEN_KEY_BYTES } from '@ignite/build-tokens';
import { z } from 'zod';

const MIB = 1024 * 1024;

/** What the internal build endpoints need, and nothing else of the API's configuration. */
export interface InternalBuildsConfig {
  /** The platform's data directory, shared with the compile worker (`<dir>/builds-uploads/<buildId>/...`). */
  dataDir: string;
  /** The key build tokens are signed with (the compile worker's); without it every request answers 503. */
  tokenKey: Buffer | undefined;
  /** Largest artifact a build pod may upload. */
  maxArtifactBytes: number;
  /** Clock skew tolerated between the compile worker (signer) and the API (verifier). */
  clockToleranceSeconds: number;
}

export const INTERNAL_BUILDS_CONFIG = Symbol('INTERNAL_BUILDS_CONFIG');

/** An unset or empty variable is `undefined`. */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** The environment variables the module reads (the API shares IGNITE_DATA_DIR; the key is the worker's). */
export const InternalBuildsEnvSchema = z.object({
  /** Same directory as the API's and the compile worker's IGNITE_DATA_DIR (a shared volume in a cluster). */
  IGNITE_DATA_DIR: z.string().min(1).default('.data'),
  /** HMAC key of build tokens, the same value as the compile worker's. Unset: the internal endpoints are off (503). */
  IGNITE_BUILD_TOKEN_KEY: optional(
    z
      .string()
      .refine((value) => Buffer.byteLength(value) >= MIN_BUILD_TOKEN_KEY_BYTES, `must be at least ${MIN_BUILD_TOKEN_KEY_BYTES} bytes`),
  ),
  /** Largest artifact upload accepted (413 beyond). */
  IGNITE_MAX_ARTIFACT_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(512 * MIB),
  /** Seconds of clock skew tolerated on token expiry. */
  IGNITE_BUILD_TOKEN_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(600).default(30),
});

export function internalBuildsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): InternalBuildsConfig {
  const parsed = InternalBuildsEnvSchema.parse(env);
  const key = parsed.IGNITE_BUILD_TOKEN_KEY;
  return {
    dataDir: resolve(parsed.IGNITE_DATA_DIR),
    tokenKey: key === undefined ? undefined : Buffer.from(key, 'utf8'),
    maxArtifactBytes: parsed.IGNITE_MAX_ARTIFACT_BYTES,
    clockToleranceSeconds: parsed.IGNITE_BUILD_TOKEN_CLOCK_TOLERANCE_SECONDS,
  };
}
