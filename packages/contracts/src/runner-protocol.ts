import { z } from 'zod';
import { DirectReportsMessageSchema } from './direct-reports';

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

/**
 * Environment the runner gives a native program, or the wasm host, for direct connections
 * (callers' connections handed to the program itself; see apps/runner/src/direct). The channel is
 * `NODE_CHANNEL_FD`.
 */
export const directProgramEnv = {
  /** The slot file shared with the runner: little-endian u32s, slot n's state at index n. */
  slots: 'IGNITE_DIRECT_SLOTS',
  /** The same file as an inherited descriptor (a sandboxed program sees no file of the runner's). */
  slotsFd: 'IGNITE_DIRECT_SLOTS_FD',
  /** How far apart the runner numbers slots (`DIRECT_SLOT_SPACING`; SDKs that ignore it map every index). */
  slotSpacing: 'IGNITE_DIRECT_SLOT_SPACING',
  /** The descriptor of the pipe the program writes its messages to (`DirectProgramMessage`, a JSON line each). */
  messagesFd: 'IGNITE_DIRECT_MESSAGES_FD',
  /** The invocation time limit in ms: past it the program answers 504 itself. */
  timeLimitMs: 'IGNITE_TIME_LIMIT_MS',
  /** The release number, for `x-ignite-release`. */
  release: 'IGNITE_RELEASE',
  /** An idle connection goes back to the runner after this many ms. */
  idleMs: 'IGNITE_DIRECT_IDLE_MS',
  /**
   * `1`: the runner may hand over connections of the public invoke route (`DirectAccess`); a
   * program that can serve them says so (`{"type":"capabilities","public":true}`). Programs of
   * earlier SDKs never do, and the runner serves their public connections itself.
   */
  public: 'IGNITE_DIRECT_PUBLIC',
} as const;

/**
 * The terms of a handed-over connection of the public route (`/v1/orgs/{org}/apps/{app}/invoke`,
 * `access` of its handoff). Every request on it must name the same function and carry the same
 * Ignite API key (`authorization`, the Authorization value of the request the runner
 * authenticated, byte for byte; absent: none) — the program strips that value before the handler.
 * A request that does not, the request after `ttlMs` (the runner re-validates the key: a revoked
 * key is refused within it) and the request after `budget` ones (rate limits: the runner takes
 * more from the buckets, or answers 429) go back to the runner unanswered, which routes them anew.
 */
export interface DirectAccess {
  authorization?: string;
  ttlMs: number;
  /** Requests it may carry; absent: no limit. */
  budget?: number;
}

/**
 * Slots are numbered this far apart in the slot file (16 u32s: a 64-byte cache line each): the
 * program's worker threads write their connections' states on every request, and neighbours
 * sharing a line would take it from each other's cores each time.
 */
export const DIRECT_SLOT_SPACING = 16;

/** A slot's state in the slot file, as the SDK keeps it (sdk/ignite-rs/ignite/src/serve/native/direct/slots.rs). */
export const DirectSlotState = { idle: 0, request: 1, responding: 2, done: 3, timedOut: 4 } as const;

/** What the runner's metrics need of a batch of reports (written just before the batch). */
export const DirectSummarySchema = z.object({
  type: z.literal('summary'),
  count: z.number().int().min(0),
  /** Invocations by HTTP status. */
  statuses: z.record(z.string().regex(/^[1-5]\d\d$/), z.number().int().min(0)),
  cold: z.number().int().min(0),
  /** The batch's invocations' durations, added up. */
  seconds: z.number().nonnegative(),
});
export type DirectSummary = z.infer<typeof DirectSummarySchema>;

/** What a program says on its message pipe about the direct connections it serves. */
export const DirectProgramMessageSchema = z.discriminatedUnion('type', [
  DirectSummarySchema,
  /**
   * Done with the connection in `slot`: route its next request again (`rest`: bytes read and not
   * handled, base64: a public connection's request that went back to the runner), or it was shut
   * (`closed`). `served`: the requests it carried since the handoff (a budget's unused part is
   * given back to the rate limits).
   */
  z.object({
    type: z.literal('released'),
    slot: z.number().int().min(0),
    rest: z.string().optional(),
    closed: z.boolean().optional(),
    served: z.number().int().min(0).optional(),
  }),
  /** What the program can do beyond what earlier SDKs could: `public`, serve public connections (`DirectAccess`). */
  z.object({ type: z.literal('capabilities'), public: z.boolean().optional() }),
  /** The request on `slot` ran past the time limit: the program answered 504 and shut the connection. */
  z.object({ type: z.literal('timeout'), slot: z.number().int().min(0) }),
  DirectReportsMessageSchema,
]);
export type DirectProgramMessage = z.infer<typeof DirectProgramMessageSchema>;

/** Environment the runner gives a native program (the SDK reads these). */
export const programEnv = {
  port: 'PORT',
  probePort: 'IGNITE_PROBE_PORT',
  readyFd: 'IGNITE_READY_FD',
  functionId: 'IGNITE_FUNCTION_ID',
  host: 'IGNITE_HOST',
  /** An inherited listening socket to serve on instead of `PORT` (a sandboxed program: a unix socket, no network). */
  listenFd: 'IGNITE_LISTEN_FD',
  /** The largest request body (413 past it), as the runner's own limit. */
  maxBodyBytes: 'IGNITE_MAX_BODY_BYTES',
} as const;

/**
 * Environment the runner gives the wasm host (`ignite-wasm-host serve`, apps/runner/wasm-host);
 * every other variable is the guest's (`ctx.env()`), so none of these may come from an app's env.
 */
export const wasmHostEnv = {
  listenFd: 'IGNITE_LISTEN_FD',
  /** `host:port` to bind instead (a host outside a sandbox). */
  listenAddr: 'IGNITE_HOST_LISTEN_ADDR',
  readyFd: 'IGNITE_READY_FD',
  /** The precompiled component: a path, or a descriptor the sandbox passed. */
  component: 'IGNITE_COMPONENT',
  componentFd: 'IGNITE_COMPONENT_FD',
  timeLimitMs: 'IGNITE_TIME_LIMIT_MS',
  memoryLimitMb: 'IGNITE_MEMORY_LIMIT_MB',
  functionId: 'IGNITE_FUNCTION_ID',
  release: 'IGNITE_RELEASE',
  tempDir: 'IGNITE_TEMP_DIR',
  shutdownTimeoutMs: 'IGNITE_SHUTDOWN_TIMEOUT_MS',
  /** Component instances alive at once (requests in flight), the pool the host reserves. */
  maxInstances: 'IGNITE_HOST_MAX_INSTANCES',
  /** The largest request body (a request of a direct connection's that goes back to the runner). */
  maxBodyBytes: 'IGNITE_MAX_BODY_BYTES',
} as const;

/** The prefix of the wasm host's own tunables (never the guest's). */
export const WASM_HOST_PREFIX = 'IGNITE_HOST_';
