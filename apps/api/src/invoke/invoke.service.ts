import type { IncomingHttpHeaders } from 'node:http';
import { ErrorCode, invokeErrors } from '@ignite/contracts';
import { Inject, Injectable, type OnApplicationShutdown, type RawBodyRequest } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { Pool } from 'undici';
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

  async invoke(org: string, app: string, request: RawBodyRequest<FastifyRequest>, reply: FastifyReply): Promise<void> {
    const body = await this.bodyOf(request);
    const pool = this.pools.for(request.headers.authorization ?? '', `${org}/${app}`);
    const path = `${this.runnerPath}${request.url}`;

    const abort = new AbortController();
    const onClose = () => {
      if (!reply.raw.writableFinished) abort.abort();
    };
    reply.raw.once('close', onClose);

    let response: Awaited<ReturnType<Pool['request']>>;
    try {
      response = await pool.request({
        method: request.method as 'GET',
        path,
        headers: this.forwardedHeaders(request),
        body: body ?? null,
        signal: abort.signal,
      });
    } catch (error) {
      reply.raw.off('close', onClose);
      if (abort.signal.aborted) return;
      throw this.runnerError(error);
    }
    this.metrics.invocations.inc({ outcome: String(response.statusCode) });
    reply.status(response.statusCode);
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      reply.header(name, value);
    }
    reply.header('x-request-id', request.id);
    await reply.send(response.body);
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

  private forwardedHeaders(request: FastifyRequest): Record<string, string | string[]> {
    const incoming: IncomingHttpHeaders = request.headers;
    const dropped = new Set(HOP_BY_HOP);
    for (const token of String(incoming.connection ?? '').split(',')) {
      const name = token.trim().toLowerCase();
      if (name) dropped.add(name);
    }
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(incoming)) {
      if (value === undefined || dropped.has(name) || NOT_FORWARDED.has(name)) continue;
      // The platform's own headers come from the platform, never from the caller.
      if (name.startsWith('x-ignite-')) continue;
      out[name] = value;
    }
    out['x-request-id'] = request.id;
    const forwardedFor = incoming['x-forwarded-for'];
    out['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${request.ip}` : request.ip;
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
