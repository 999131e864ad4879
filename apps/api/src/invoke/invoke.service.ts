import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ErrorCode, httpStatusOf, invokeErrors } from '@ignite/contracts';
import { Inject, Injectable, type OnApplicationShutdown, type RawBodyRequest } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { Dispatcher } from 'undici';
import { DomainError } from '../common/domain-error';
import { IncompleteBodyError, readBody, TooLargeError } from '../common/receive-body';
import type { ApiConfig } from '../config';
import { MetricsService } from '../infra/metrics.service';
import { API_CONFIG } from '../infra/tokens';
import { CallerPools } from './caller-pools';

/** Headers that describe one connection, not the message: never forwarded, either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);
/** An answer of a known length up to this size is relayed in one write. */
const WHOLE_ANSWER_BYTES = 64 * 1024;

/** Not forwarded: the API's host, and what is recomputed. (Authorization is: the data plane checks it.) */
const NOT_FORWARDED = new Set(['host', 'content-length', 'expect']);

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * The API's invoke route, kept for compatibility: the same request goes to the data plane (the
 * runner's direct port, `RUNNER_DIRECT_URL`) on the same route, where the key, the app, the
 * limits and the invocation are handled exactly as for a caller of the data plane itself — so
 * that both answer alike, and the API reads nothing from Postgres per invocation. Method, path,
 * query, headers (minus hop-by-hop ones) and the raw body go over a kept-alive connection of the
 * caller's own (`CallerPools`); the status, headers and body come back unchanged.
 */
@Injectable()
export class InvokeService implements OnApplicationShutdown {
  private readonly pools: CallerPools;
  private readonly runnerPath: string;

  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly metrics: MetricsService,
    @InjectPinoLogger(InvokeService.name) private readonly logger: PinoLogger,
  ) {
    const runner = new URL(config.RUNNER_DIRECT_URL);
    this.runnerPath = runner.pathname.replace(/\/+$/, '');
    // Functions may run for up to 15 minutes; the data plane enforces each app's own limit.
    this.pools = new CallerPools(runner.origin, {
      connections: 64,
      connectTimeout: 5_000,
      headersTimeout: 16 * 60_000,
      bodyTimeout: 16 * 60_000,
      keepAliveTimeout: 30_000,
    });
  }

  /**
   * Forwards one invocation and writes the answer on the raw response: the reply is hijacked
   * (fastify sends nothing of it), and errors are answered here, as the exception filter would.
   */
  async invoke(org: string, app: string, request: RawBodyRequest<FastifyRequest>, reply: FastifyReply): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    try {
      await this.forward(org, app, request, res);
    } catch (error) {
      this.answerError(request, res, error);
    }
  }

  private async forward(org: string, app: string, request: RawBodyRequest<FastifyRequest>, res: ServerResponse): Promise<void> {
    const body = await this.bodyOf(request);
    const pool = this.pools.for(request.headers.authorization ?? '', `${org}/${app}`);
    const status = await new Promise<number | null>((resolve, reject) => {
      let controller: Dispatcher.DispatchController | null = null;
      let whole: Buffer[] | null = null;
      let head: OutgoingHttpHeaders = {};
      let statusCode = 0;
      let settled = false;
      const settle = (outcome: number | null, error?: unknown) => {
        if (settled) return;
        settled = true;
        res.off('close', onClose);
        if (error !== undefined) reject(error);
        else resolve(outcome);
      };
      // The caller left: the exchange with the data plane is abandoned.
      const onClose = () => {
        if (res.writableFinished) return;
        controller?.abort(new Error('the caller went away'));
        settle(null);
      };
      res.once('close', onClose);
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (c) => {
          controller = c;
        },
        onResponseStart: (c, code, headers) => {
          statusCode = code;
          head = { 'x-request-id': request.id };
          for (const name in headers) {
            if (!HOP_BY_HOP.has(name)) head[name] = headers[name];
          }
          // A small answer of a known length goes out whole, head and body in one write; streams and large ones as they come.
          if (Number(headers['content-length']) <= WHOLE_ANSWER_BYTES) whole = [];
          else {
            res.writeHead(code, head);
            res.on('drain', () => c.resume());
          }
        },
        onResponseData: (c, chunk) => {
          if (whole !== null) whole.push(chunk);
          else if (!res.write(chunk)) c.pause();
        },
        onResponseEnd: () => {
          if (whole !== null) {
            res.writeHead(statusCode, head);
            res.end(whole.length === 1 ? whole[0] : Buffer.concat(whole));
          } else res.end();
          settle(statusCode);
        },
        onResponseError: (_c, error) => settle(null, error),
      };
      pool.dispatch(
        {
          method: request.method as Dispatcher.HttpMethod,
          path: `${this.runnerPath}${request.url}`,
          headers: this.forwardedHeaders(request),
          body: body ?? null,
        },
        handler,
      );
    }).catch((error: unknown) => {
      if (res.headersSent) {
        // The answer was under way: all that is left is to cut it.
        res.destroy();
        return null;
      }
      throw this.runnerError(error);
    });
    if (status !== null) this.metrics.invocations.inc({ outcome: String(status) });
  }

  /** The JSON error answer, as the exception filter gives it (the hijacked reply does not reach it). */
  private answerError(request: FastifyRequest, res: ServerResponse, error: unknown): void {
    const known = error instanceof DomainError;
    if (!known) this.logger.error({ reqId: request.id, err: error }, 'request failed');
    if (res.headersSent) {
      // An answer was under way: all that is left is to cut it.
      res.destroy();
      return;
    }
    const body = known
      ? { ...error.details, error: error.message, code: error.code }
      : { error: 'internal error', code: ErrorCode.internal, requestId: request.id };
    const text = JSON.stringify(body);
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-request-id': request.id,
    };
    // A body refused for its size may still be arriving.
    if (known && error.code === ErrorCode.payloadTooLarge) headers.connection = 'close';
    res.writeHead(known ? httpStatusOf[error.code] : 500, headers);
    res.end(text);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pools.close();
  }

  private async bodyOf(request: RawBodyRequest<FastifyRequest>): Promise<Buffer | undefined> {
    if (request.rawBody) return request.rawBody;
    if (request.body !== undefined) return Buffer.from(typeof request.body === 'string' ? request.body : JSON.stringify(request.body));
    try {
      const raw = await readBody(request.raw, this.config.MAX_BODY_BYTES);
      return raw.length === 0 ? undefined : raw;
    } catch (error) {
      if (error instanceof TooLargeError) {
        throw new DomainError(ErrorCode.payloadTooLarge, invokeErrors.payloadTooLarge(error.limitBytes), {
          limitBytes: error.limitBytes,
        });
      }
      if (error instanceof IncompleteBodyError) throw new DomainError(ErrorCode.validation, error.message);
      throw error;
    }
  }

  /** The caller's headers as sent (minus hop-by-hop ones and the platform's own), flat, plus the request id and the forwarded address. */
  private forwardedHeaders(request: FastifyRequest): string[] {
    const incoming: IncomingHttpHeaders = request.headers;
    let dropped = HOP_BY_HOP;
    if (incoming.connection !== undefined) {
      dropped = new Set(HOP_BY_HOP);
      for (const token of String(incoming.connection).split(',')) {
        const name = token.trim().toLowerCase();
        if (name) dropped.add(name);
      }
    }
    const raw = request.raw.rawHeaders;
    const out: string[] = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      // The platform's own headers come from the platform, never from the caller.
      if (
        dropped.has(name) ||
        NOT_FORWARDED.has(name) ||
        name === 'x-request-id' ||
        name === 'x-forwarded-for' ||
        name.startsWith('x-ignite-')
      )
        continue;
      out.push(name, raw[i + 1]!);
    }
    const forwardedFor = incoming['x-forwarded-for'];
    out.push('x-request-id', request.id, 'x-forwarded-for', forwardedFor ? `${String(forwardedFor)}, ${request.ip}` : request.ip);
    // No internal token: the public route takes the caller's key, and a handed-over connection's
    // later requests reach the program's process as sent.
    return out;
  }

  private runnerError(error: unknown): DomainError {
    const code = (error as { code?: string } | undefined)?.code ?? '';
    if (UNREACHABLE.has(code) || (error as { cause?: { code?: string } } | undefined)?.cause?.code === 'ECONNREFUSED') {
      this.metrics.invocations.inc({ outcome: 'unavailable' });
      return new DomainError(
        ErrorCode.unavailable,
        `the runner at ${this.config.RUNNER_DIRECT_URL} is unreachable (${code || 'connection failed'}); try again shortly`,
        {
          runnerUrl: this.config.RUNNER_DIRECT_URL,
        },
      );
    }
    this.metrics.invocations.inc({ outcome: 'error' });
    if (code === 'UND_ERR_HEADERS_TIMEOUT') {
      return new DomainError(ErrorCode.functionTimeout, `the runner at ${this.config.RUNNER_DIRECT_URL} did not answer in time`, {
        runnerUrl: this.config.RUNNER_DIRECT_URL,
      });
    }
    this.logger.error({ err: error }, 'runner request failed');
    return new DomainError(ErrorCode.badGateway, `the runner at ${this.config.RUNNER_DIRECT_URL} failed to answer`, {
      runnerUrl: this.config.RUNNER_DIRECT_URL,
    });
  }
}
