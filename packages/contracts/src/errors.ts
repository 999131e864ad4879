/**
 * The platform's error codes. Every error body is `{ "error": message, "code": ErrorCode, ... }`;
 * the HTTP status comes from this table, in one place.
 */
export const ErrorCode = {
  validation: 'validation_failed',
  unauthorized: 'unauthorized',
  notFound: 'not_found',
  conflict: 'conflict',
  payloadTooLarge: 'payload_too_large',
  unprocessable: 'unprocessable',
  unavailable: 'unavailable',
  functionError: 'function_error',
  functionTimeout: 'function_timeout',
  badGateway: 'bad_gateway',
  /** A direct connection carried a request for another function: send it on a new connection. */
  misdirected: 'misdirected_request',
  /** Over an app's or org's rate or concurrency limit: retry after the `retry-after` seconds. */
  rateLimited: 'rate_limited',
  /**
   * Over one of this platform's limits (an app's memory or time over the operator's maximum, an
   * org's count of apps or bytes of drafts): the body names the limit (`limit`, `max`, `setting`).
   */
  limitExceeded: 'limit_exceeded',
  /** Over an org's quota of work in flight (builds queued or running): retry after `retry-after` seconds. */
  quotaExceeded: 'quota_exceeded',
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const httpStatusOf: Record<ErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unprocessable: 422,
  unavailable: 503,
  function_error: 500,
  function_timeout: 504,
  bad_gateway: 502,
  misdirected_request: 421,
  rate_limited: 429,
  limit_exceeded: 422,
  quota_exceeded: 429,
  internal: 500,
};
