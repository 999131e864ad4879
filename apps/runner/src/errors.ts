import type { ServerResponse } from 'node:http';
import { ErrorCode, httpStatusOf } from '@ignite/contracts';

/** A failure the caller sees as `{ "error": message, "code": code }` with `httpStatusOf[code]`. */
export class InvocationError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'InvocationError';
  }

  get status(): number {
    return httpStatusOf[this.code];
  }
}

export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: message, code });
}

/** Writes a JSON error response, unless one is already under way. */
export function sendError(res: ServerResponse, code: ErrorCode, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(code, message);
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
