import { ErrorCode, httpStatusOf } from '@ignite/contracts';
import { z } from 'zod';

/** Every error answer of the API: `{ "error": message, "code": code, ...details }`. */
export const ErrorBodySchema = z
  .object({
    error: z.string().describe('What went wrong, for people'),
    code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]).describe('Stable machine-readable code'),
  })
  .catchall(z.unknown());

export interface ErrorBody {
  error: string;
  code: ErrorCode;
  [detail: string]: unknown;
}

/** The error code whose status is `status`, for errors that come with a status only. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return ErrorCode.unauthorized;
    case 404:
      return ErrorCode.notFound;
    case 409:
      return ErrorCode.conflict;
    case 413:
      return ErrorCode.payloadTooLarge;
    case 422:
      return ErrorCode.unprocessable;
    case 429:
      return ErrorCode.rateLimited;
    case 502:
      return ErrorCode.badGateway;
    case 503:
      return ErrorCode.unavailable;
    case 504:
      return ErrorCode.functionTimeout;
    default:
      return status >= 400 && status < 500 ? ErrorCode.validation : ErrorCode.internal;
  }
}

export function statusOf(code: ErrorCode): number {
  return httpStatusOf[code];
}
