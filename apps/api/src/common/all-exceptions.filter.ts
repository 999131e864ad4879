import { ErrorCode } from '@ignite/contracts';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, NotFoundException } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { ZodValidationException } from 'nestjs-zod';
import { ZodError } from 'zod';
import type { ApiConfig } from '../config';
import { API_CONFIG } from '../infra/tokens';
import { DomainError } from './domain-error';
import { codeForStatus, type ErrorBody, statusOf } from './error-body';
import { isDatabaseUnavailable } from './prisma-errors';

interface Answer {
  status: number;
  body: ErrorBody;
  /** Ask the client to close the connection (a body we refused may still be arriving). */
  close?: boolean;
  /** Seconds after which a refused request may succeed (`retry-after`). */
  retryAfterSeconds?: number;
}

/**
 * The one place errors become HTTP answers. Every answer is JSON `{ error, code, ...details }`
 * with the status of its code; anything unexpected is a 500 that says nothing about internals
 * (the details go to the log, with the request id).
 */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @InjectPinoLogger(AllExceptionsFilter.name) private readonly logger: PinoLogger,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<FastifyReply>();
    const request = http.getRequest<FastifyRequest>();
    const answer = this.answer(exception, request);
    if (answer.body.dependency !== undefined) {
      // Expected while a dependency restarts: a line without a stack.
      this.logger.warn(
        { reqId: request?.id, dependency: answer.body.dependency, err: (exception as Error).message },
        'dependency unavailable',
      );
    } else if (answer.status >= 500) {
      this.logger.error({ reqId: request?.id, err: exception }, 'request failed');
    }
    if (reply.sent || reply.raw.headersSent) {
      // A stream was already under way: all that is left is to cut it.
      reply.raw.destroy();
      return;
    }
    if (answer.close) reply.header('connection', 'close');
    if (answer.retryAfterSeconds !== undefined) reply.header('retry-after', String(answer.retryAfterSeconds));
    void reply.status(answer.status).header('content-type', 'application/json; charset=utf-8').send(answer.body);
  }

  private answer(exception: unknown, request: FastifyRequest | undefined): Answer {
    if (exception instanceof DomainError) {
      return {
        status: statusOf(exception.code),
        body: { ...exception.details, error: exception.message, code: exception.code },
        close: exception.code === ErrorCode.payloadTooLarge,
        ...(typeof exception.details.retryAfterSeconds === 'number' ? { retryAfterSeconds: exception.details.retryAfterSeconds } : {}),
      };
    }
    if (exception instanceof ZodValidationException) {
      const zodError = exception.getZodError();
      if (zodError instanceof ZodError) return validationAnswer(zodError);
      return validationAnswer(undefined);
    }
    if (exception instanceof NotFoundException && /^Cannot [A-Z]+ /.test(exception.message)) {
      const route = request ? `${request.method} ${request.url.split('?')[0]}` : 'this route';
      return this.simple(ErrorCode.notFound, `no route for ${route}`);
    }
    if (exception instanceof HttpException) {
      return this.fromStatus(exception.getStatus(), exception.message);
    }
    if (isClientParseError(exception)) {
      if (exception instanceof SyntaxError)
        return this.simple(ErrorCode.validation, `request body is not valid JSON: ${exception.message}`);
      return this.fromStatus(exception.statusCode, exception.message);
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        status: statusOf(ErrorCode.unavailable),
        body: { error: 'the database is unreachable (Postgres); try again shortly', code: ErrorCode.unavailable, dependency: 'postgres' },
        retryAfterSeconds: 1,
      };
    }
    return { status: 500, body: { error: 'internal error', code: ErrorCode.internal, requestId: request?.id } };
  }

  /** Errors that carry only a status (Nest's, or Fastify's mapped by Nest) keep their message when it is a client's error. */
  private fromStatus(status: number, message: string): Answer {
    const code = codeForStatus(status);
    if (code === ErrorCode.payloadTooLarge) {
      return {
        ...this.simple(code, `request body is larger than the limit of ${this.config.MAX_BODY_BYTES} bytes`, {
          limitBytes: this.config.MAX_BODY_BYTES,
        }),
        close: true,
      };
    }
    if (status >= 500) return { status: 500, body: { error: 'internal error', code: ErrorCode.internal } };
    return this.simple(code, message);
  }

  private simple(code: ErrorCode, error: string, details: Record<string, unknown> = {}): Answer {
    return { status: statusOf(code), body: { ...details, error, code } };
  }
}

function validationAnswer(error: ZodError | undefined): Answer {
  const issues = (error?.issues ?? []).map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const message =
    issues.length === 0
      ? 'invalid request'
      : issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ');
  return { status: statusOf(ErrorCode.validation), body: { error: message, code: ErrorCode.validation, issues } };
}

/** A body Fastify could not parse (bad JSON, a bad Content-Length): a client error it marks with a 4xx status. */
function isClientParseError(error: unknown): error is Error & { statusCode: number } {
  if (!(error instanceof Error)) return false;
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return false;
  return error instanceof SyntaxError || error.name === 'FastifyError';
}
