import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

export type InternalErrorCode =
  | 'validation_failed'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'payload_too_large'
  | 'unprocessable'
  | 'unavailable'
  | 'internal';

const STATUS: Record<InternalErrorCode, number> = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  unprocessable: 422,
  unavailable: 503,
  internal: 500,
};

/** An answer of the internal build endpoints: `{ error, code }` with the code's status. */
export class InternalBuildsError extends Error {
  constructor(
    readonly code: InternalErrorCode,
    message: string,
    /** Ask the client to close the connection: a body we refused may still be arriving. */
    readonly closeConnection = false,
  ) {
    super(message);
    this.name = 'InternalBuildsError';
  }

  get status(): number {
    return STATUS[this.code];
  }
}

/**
 * The internal endpoints answer for themselves (bound to their controller, so it runs before any
 * global filter): build pods read these answers in their logs, so they say exactly what was wrong.
 */
@Catch()
export class InternalBuildsExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('InternalBuilds');

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    let error: InternalBuildsError;
    if (exception instanceof InternalBuildsError) {
      error = exception;
    } else if (exception instanceof HttpException && exception.getStatus() === 404) {
      error = new InternalBuildsError('not_found', exception.message);
    } else {
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
      error = new InternalBuildsError('internal', 'internal error');
    }
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    if (error.closeConnection) reply.header('connection', 'close');
    void reply
      .status(error.status)
      .header('content-type', 'application/json; charset=utf-8')
      .send({ error: error.message, code: error.code });
  }
}
