import { ErrorCode } from '@ignite/contracts';

/**
 * The one error type of the API's rules. The global filter answers it as
 * `{ "error": message, "code": code, ...details }` with the status `httpStatusOf[code]`.
 */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** The answer for an app that does not exist, or that the caller's key may not see (never 403). */
export function appNotFound(org: string, app: string): DomainError {
  return new DomainError(ErrorCode.notFound, `app "${app}" not found in org "${org}"`);
}

/** The answer for an org path the caller's key does not belong to, or that does not exist. */
export function orgNotFound(org: string): DomainError {
  return new DomainError(ErrorCode.notFound, `org "${org}" not found`);
}
