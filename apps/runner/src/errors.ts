import type { ServerResponse } from 'node:http';
import { ErrorCode, httpStatusOf } from '@ignite/contracts';

/** A failure the caller sees as `{ "error": message, "code": code }` with `httpStatusOf[code]`. */
export class InvocationError extends Error {
  /** Sent as `retry-after` (a limit refused it). */
  readonly retryAfterSeconds: number | undefined;
  /** More fields of the JSON body (as the API gives them: `limitBytes` of a 413). */
  readonly details: Record<string, unknown>;

  constructor(
    readonly code: ErrorCode,
    message: string,
    extra: { retryAfterSeconds?: number; details?: Record<string, unknown> } = {},
  ) {
    super(message);
    this.name = 'InvocationError';
    this.retryAfterSeconds = extra.retryAfterSeconds;
    this.details = extra.details ?? {};
  }

  /** The headers its answer carries besides the body's. */
  get headers(): Record<string, string> {
    return this.retryAfterSeconds === undefined ? {} : { 'retry-after': String(this.retryAfterSeconds) };
  }

  get status(): number {
    return httpStatusOf[this.code];
  }
}

/** `{"error", "code"}`, with the details first as the API writes them. */
export function errorBody(code: ErrorCode, message: string, details: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...details, error: message, code });
}

/** Writes a JSON error response, unless one is already under way. */
export function sendError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
  details: Record<string, unknown> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(code, message, details);
  res.writeHead(httpStatusOf[code], {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Whatever was thrown, as an `InvocationError` (unknown failures are `internal`). */
export function asInvocationError(error: unknown): InvocationError {
  if (error instanceof InvocationError) return error;
  return new InvocationError(ErrorCode.internal, 'the runner failed to handle the invocation');
}
