import type { z } from 'zod';

/** A configuration value that failed its schema: which variable, and what is wrong with it. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`invalid configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses an app's configuration from the environment with its zod schema, once, at start.
 * The schema's keys are the environment variable names.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path.map(String).join('.') || '(environment)',
      message: issue.message,
    })),
  );
}

/** `parseConfig`, or stop the process with one line per bad variable (no stack trace). */
export function loadConfigOrExit<S extends z.ZodType>(app: string, schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const problem of error.problems) {
      process.stderr.write(`${app}: invalid configuration: ${problem.variable}: ${problem.message}\n`);
    }
    process.exit(78); // EX_CONFIG
  }
}
