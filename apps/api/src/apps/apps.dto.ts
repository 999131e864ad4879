import { INVOKE_AUTH_MODES } from '@ignite/contracts';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { NAME_PATTERN, NAME_RULE } from '../config';

export const SUPPORTED_RUNTIMES = ['rust'] as const;
export const RUST_TARGETS = ['native', 'wasm'] as const;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ENV_VARS = 200;
const MAX_ENV_VALUE_CHARS = 32 * 1024;

/** Why an environment variable name is refused, or undefined when it is fine. */
export function envKeyProblem(key: string): string | undefined {
  if (!ENV_KEY.test(key)) return `env name "${key}" must match ${ENV_KEY.source} (letters, digits and "_", not starting with a digit)`;
  if (key.toUpperCase().startsWith('IGNITE_')) return `env name "${key}" is reserved: names starting with IGNITE_ are set by the platform`;
  if (key.toUpperCase() === 'PORT') return `env name "${key}" is reserved: the platform sets PORT for the function's server`;
  return undefined;
}

const envValue = z
  .string({ error: 'env values must be strings' })
  .max(MAX_ENV_VALUE_CHARS, `env values are at most ${MAX_ENV_VALUE_CHARS} characters`);

const EnvSchema = z
  .record(z.string(), envValue, { error: 'env must be an object of string names to string values' })
  .superRefine((env, ctx) => {
    const keys = Object.keys(env);
    if (keys.length > MAX_ENV_VARS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_ENV_VARS} env variables` });
    for (const key of keys) {
      const problem = envKeyProblem(key);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [key] });
    }
  })
  .describe('Environment variables of the function: names match ^[A-Za-z_][A-Za-z0-9_]*$; IGNITE_* and PORT are reserved');

const authSchema = z
  .enum(INVOKE_AUTH_MODES, {
    error: (issue) => `auth ${JSON.stringify(issue.input)} is not supported; one of: ${INVOKE_AUTH_MODES.join(', ')}`,
  })
  .describe('Who may invoke it: `key` (an API key of the org, the default) or `public` (anyone, no key)');
const rateLimitSchema = z
  .number()
  .int()
  .min(1)
  .max(1_000_000)
  .describe("Most invocations a second, per runner (default: the runner's RUNNER_APP_RATE_LIMIT)");
const concurrencyLimitSchema = z
  .number()
  .int()
  .min(1)
  .max(100_000)
  .describe("Most invocations at the same time, per runner (default: the runner's RUNNER_APP_CONCURRENCY)");

export const AppNameSchema = z.string({ error: 'name is required' }).regex(NAME_PATTERN, `name must be ${NAME_RULE}`);

/** The message for a body that is not a JSON object at all (other issues keep zod's message). */
function bodyError(issue: { code?: string; input?: unknown }): string | undefined {
  if (issue.code !== 'invalid_type') return undefined;
  return issue.input === undefined ? 'a JSON body is required (Content-Type: application/json)' : 'the body must be a JSON object';
}

export const CreateAppSchema = z.strictObject(
  {
    name: AppNameSchema,
    runtime: z.enum(SUPPORTED_RUNTIMES, {
      error: (issue) =>
        issue.input === undefined
          ? `runtime is required; supported runtimes: ${SUPPORTED_RUNTIMES.join(', ')}`
          : `runtime ${JSON.stringify(issue.input)} is not supported; supported runtimes: ${SUPPORTED_RUNTIMES.join(', ')}`,
    }),
    rustTarget: z
      .enum(RUST_TARGETS, {
        error: (issue) => `rustTarget ${JSON.stringify(issue.input)} is not supported; supported targets: ${RUST_TARGETS.join(', ')}`,
      })
      .default('native'),
    env: EnvSchema.default({}),
    timeoutMs: z.number().int().min(1).max(900_000).optional().describe('Per-invocation time limit in ms (default: the runner default)'),
    memoryMb: z.number().int().min(16).max(65_536).optional().describe('Per-instance memory limit in MiB (default: the runner default)'),
    auth: authSchema.default('key'),
    rateLimitPerSecond: rateLimitSchema.optional(),
    concurrencyLimit: concurrencyLimitSchema.optional(),
  },
  { error: bodyError },
);
export class CreateAppDto extends createZodDto(CreateAppSchema) {}

/** Who may invoke the app, and its limits: what `PATCH .../apps/{app}` changes (null: back to the runner's default). */
export const UpdateAppSchema = z
  .strictObject(
    {
      auth: authSchema.optional(),
      rateLimitPerSecond: rateLimitSchema.nullable().optional(),
      concurrencyLimit: concurrencyLimitSchema.nullable().optional(),
    },
    { error: bodyError },
  )
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change: give auth, rateLimitPerSecond or concurrencyLimit' });
export class UpdateAppDto extends createZodDto(UpdateAppSchema) {}

export const PatchEnvSchema = z
  .strictObject(
    {
      set: EnvSchema.optional(),
      unset: z.array(z.string()).max(MAX_ENV_VARS).optional(),
    },
    { error: bodyError },
  )
  .superRefine((patch, ctx) => {
    for (const key of patch.unset ?? []) {
      if (patch.set && Object.hasOwn(patch.set, key))
        ctx.addIssue({ code: 'custom', message: `env name "${key}" is both set and unset`, path: ['unset'] });
    }
  });
export class PatchEnvDto extends createZodDto(PatchEnvSchema) {}
