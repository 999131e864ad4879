import type { IncomingHttpHeaders } from 'node:http';
import type { ActiveRelease, ReleaseTarget, ResolvedFunction } from './release-resolver';

/** What an instance runs: one function's release with its env and limits. */
export interface InstanceSpec {
  /** Unique per instance, for logs. */
  id: string;
  fn: ResolvedFunction;
  release: ActiveRelease;
}

/** One request as the runner forwards it. */
export interface ProxyRequest {
  method: string;
  /** Path and query as the program sees them (`/` when the caller gave none). */
  path: string;
  /** Flat `[name, value, name, value…]`, already filtered. */
  headers: string[];
  body: Buffer | null;
  executionId: string;
}

/** Flow control of a response body being relayed. */
export interface FlowControl {
  pause(): void;
  resume(): void;
}

/** Receives one response from an instance. */
export interface ResponseSink {
  start(status: number, headers: IncomingHttpHeaders, flow: FlowControl): void;
  /** false: the caller is slow, the instance's side is paused until `flow.resume()`. */
  data(chunk: Buffer): boolean;
  end(): void;
  /** The exchange failed (connection closed, garbage, aborted). */
  error(error: Error): void;
}

export interface Exchange {
  /** Abandons the exchange (time limit, caller gone); the sink hears nothing more. */
  abort(reason: Error): void;
}

/**
 * Why an instance is gone:
 * - `stopped`: the runner stopped it (idle, drained, shut down);
 * - `killed`: the runner killed it (time limit, broken protocol, failed start);
 * - `memory`: it went over its memory limit;
 * - `crashed`: it exited on its own.
 */
export type ExitCause = 'stopped' | 'killed' | 'memory' | 'crashed';

export interface ExitInfo {
  cause: ExitCause;
  /** Why the runner killed it (for `killed`). */
  reason?: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One running copy of a release. The pool decides which instance serves which invocation and
 * counts what is in flight; an instance only starts, relays exchanges and stops.
 *
 * Both kinds are programs serving HTTP (`native/program-instance.ts`): `native` is the function's
 * own program, `wasm` the wasm host serving the function's component.
 */
export interface FunctionInstance {
  readonly spec: InstanceSpec;
  /** Resolves when it can serve; rejects with an `InvocationError` (and leaves nothing running). */
  start(): Promise<void>;
  /** Relays one request; the sink hears the outcome (unless aborted). */
  exchange(request: ProxyRequest, sink: ResponseSink): Exchange;
  /** Finish what is in flight, then exit. */
  stop(): void;
  /** Stop now (the exit follows). */
  kill(reason: string): void;
  /** No new work will come (a newer release, a broken instance): hand back what can go elsewhere. */
  retire?(): void;
  /** Called once, after `start` succeeded, when the instance is gone. */
  onExit(listener: (info: ExitInfo) => void): void;
  /** Executions in flight on it, for attributing its logs (maintained by the pool). */
  readonly inFlight: Set<string>;
  /**
   * Set when the instance answers 504 at the function's time limit itself and keeps serving (the
   * wasm host): the runner's own timer fires this many ms later, as a backstop for an instance
   * that did not answer in time (which it then kills). Unset: the runner's timer is the time
   * limit, and the instance is killed once its other invocations are done.
   */
  readonly ownTimeLimitGraceMs?: number;
}

export interface InstanceKind {
  readonly target: ReleaseTarget;
  /** Most invocations one instance of this kind can serve at once (the pool's own cap applies too). */
  readonly maxInFlight?: number;
  create(spec: InstanceSpec): FunctionInstance;
}
