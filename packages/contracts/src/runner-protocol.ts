/**
 * The HTTP conversation between the API (or an in-cluster caller) and the runner, and between
 * the runner and a function's program (the SDK's serve loop).
 */

/** Runner route: `{method} /v1/invoke/{org}/{app}{/optional/path}?{query}`, body forwarded unchanged. */
export const RUNNER_INVOKE_PREFIX = '/v1/invoke';

export const headers = {
  /** Runner → program and runner → caller: the invocation's UUIDv7. */
  executionId: 'x-ignite-execution-id',
  /** Runner → program: `org/app`. */
  functionId: 'x-ignite-function-id',
  /** Runner → caller: `true` when this invocation started the instance. */
  cold: 'x-ignite-cold',
  /** Runner → caller: the release number that answered. */
  release: 'x-ignite-release',
  /** Runner → caller: time spent in the runner for this invocation, in ms. */
  durationMs: 'x-ignite-duration-ms',
  /** Caller → runner: the shared internal token (when the runner is configured with one). */
  internalToken: 'x-ignite-internal-token',
} as const;

/** Environment the runner gives a native program (the SDK reads these). */
export const programEnv = {
  port: 'PORT',
  probePort: 'IGNITE_PROBE_PORT',
  readyFd: 'IGNITE_READY_FD',
  functionId: 'IGNITE_FUNCTION_ID',
  host: 'IGNITE_HOST',
} as const;
