import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ErrorCode,
  httpStatusOf,
  headers as igniteHeaders,
  invokeErrors,
  PUBLIC_INVOKE_PREFIX,
  presentsApiKey,
  RUNNER_INVOKE_PREFIX,
} from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { InvokeAccess } from './data-plane/invoke-access';
import type { Admission, InvocationLimits } from './data-plane/limits';
import { parsePublicInvokePath } from './data-plane/public-path';
import { InvocationError, sendError } from './errors';
import type { InternalToken } from './internal-token';
import { CALLER_CLOSED, Invocation } from './invocation';
import { listen } from './listen';
import type { Metrics } from './metrics';
import type { InstancePool } from './pool';
import type { ReleaseResolver, ResolvedFunction } from './release-resolver';
import type { InvocationReporter } from './reporter';

const INVOKE_PREFIX = `${RUNNER_INVOKE_PREFIX}/`;
/** Request headers not forwarded to the program (connection-level, or the platform's own). */
const SKIPPED_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'expect',
  'content-length',
]);
const NAME = /^[^/\\\s\0]{1,128}$/;

/** Where an invocation goes: the app and the path its program sees (`/` when the caller gave none). */
export interface InvokeTarget {
  org: string;
  app: string;
  path: string;
}

export interface ServerDeps {
  resolver: ReleaseResolver;
  /** The public route's rules (API keys, public apps). */
  access: InvokeAccess;
  /** The public route's rate and concurrency limits. */
  limits: InvocationLimits;
  pool: InstancePool;
  reporter: InvocationReporter;
  metrics: Metrics;
  logger: Logger;
  maxBodyBytes: number;
  /** `RUNNER_INTERNAL_TOKEN`, required of every invocation when set. */
  internalToken: InternalToken;
  /** A new execution id (UUIDv7). */
  executionId: () => string;
  /** Whether Postgres and Redis answer. */
  readiness: () => Promise<Record<string, boolean>>;
}

/**
 * The runner's HTTP server, on node:http (the invocation path is the hot path):
 * `ANY /v1/invoke/{org}/{app}{/path}{?query}` (in-cluster callers: the internal token),
 * `ANY /v1/orgs/{org}/apps/{app}/invoke{/path}{?query}` (the public route: API keys, public apps,
 * limits), `GET /healthz`, `GET /readyz`, `GET /metrics`. It also serves every connection of the
 * direct port that is not handed to a program.
 */
export class RunnerServer {
  readonly http: Server;
  private active = 0;
  private readonly drained: (() => void)[] = [];

  constructor(private readonly deps: ServerDeps) {
    // requestTimeout bounds receiving a request (not answering it): a caller cannot trickle a body forever.
    this.http = createServer({ keepAliveTimeout: 65_000, requestTimeout: 120_000 }, (req, res) => this.route(req, res));
    this.http.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listen(this.http, port, host);
  }

  /** Stops accepting, lets the invocations in flight finish (within `timeoutMs`), closes every connection. */
  async close(timeoutMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    if (this.active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        this.drained.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.http.closeAllConnections();
    await closed;
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    const route = url.startsWith(INVOKE_PREFIX) ? 'internal' : url.startsWith(PUBLIC_INVOKE_PREFIX) ? 'public' : null;
    if (route !== null) {
      this.active++;
      res.once('close', this.invocationDone);
      this.invoke(req, res, url, route).catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'invocation failed in the runner');
        sendError(res, ErrorCode.internal, 'the runner failed to handle the invocation');
      });
      return;
    }
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, ErrorCode.notFound, `no route ${req.method} ${path}`);
      return;
    }
    switch (path) {
      case '/healthz':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/readyz':
        void this.readyz(res);
        return;
      case '/metrics':
        void this.metrics(res);
        return;
      default:
        sendError(res, ErrorCode.notFound, `no route ${req.method} ${path}`);
    }
  }

  private readonly invocationDone = () => {
    if (--this.active === 0) for (const done of this.drained.splice(0)) done();
  };

  private async invoke(req: IncomingMessage, res: ServerResponse, url: string, route: 'internal' | 'public'): Promise<void> {
    const startedAt = performance.now();
    const at = Date.now();
    const executionId = this.deps.executionId();
    const early = { [igniteHeaders.executionId]: executionId };
    const refuse = (error: InvocationError) => {
      this.deps.metrics.invocation(httpStatusOf[error.code], (performance.now() - startedAt) / 1000, false);
      sendError(res, error.code, error.message, { ...early, ...error.headers }, error.details);
    };

    let target: InvokeTarget | InvocationError | null;
    let fn: ResolvedFunction | null = null;
    if (route === 'internal') {
      if (!this.deps.internalToken.accepts(req.headers[igniteHeaders.internalToken])) {
        refuse(new InvocationError(ErrorCode.unauthorized, `missing or wrong ${igniteHeaders.internalToken}`));
        return;
      }
      target = parseInvokePath(url);
    } else {
      target = parsePublicInvokePath(url);
      if (target === null) target = new InvocationError(ErrorCode.notFound, `no route ${req.method} ${url.split('?')[0]}`);
      if (!(target instanceof InvocationError)) {
        // Who may call is settled before a byte of the body is read.
        const access = await this.deps.access.decide(target.org, target.app, req.headers.authorization);
        if (!access.allowed) {
          refuse(access.error);
          return;
        }
        fn = access.fn;
      }
    }
    if (target instanceof InvocationError) {
      refuse(target);
      return;
    }
    const { org, app, path } = target;

    let body: Buffer | null;
    let resolvedAt = startedAt;
    try {
      body = await readBody(req, this.deps.maxBodyBytes);
      fn ??= this.deps.resolver.peek(`${org}/${app}`) ?? (await this.deps.resolver.resolve(org, app));
      resolvedAt = performance.now();
    } catch (error) {
      if (error instanceof InvocationError) {
        if (error.code === ErrorCode.payloadTooLarge) res.shouldKeepAlive = false;
        // The public route knew the app before reading the body: its refusal is the app's invocation, recorded as a program records its own 413.
        if (fn !== null) this.report(fn, executionId, fn.release?.id ?? null, httpStatusOf[error.code], error.message, startedAt, at);
        refuse(error);
        return;
      }
      throw error;
    }
    if (fn === null) {
      refuse(new InvocationError(ErrorCode.notFound, route === 'public' ? invokeErrors.appNotFound(org, app) : `no app ${org}/${app}`));
      return;
    }
    const release = fn.release;
    const fail = (error: InvocationError, releaseId: string | null) => {
      refuse(error);
      this.report(fn, executionId, releaseId, httpStatusOf[error.code], error.message, startedAt, at);
    };
    if (release === null) {
      fail(new InvocationError(ErrorCode.notFound, invokeErrors.noRelease(org, app)), null);
      return;
    }
    if (!this.deps.pool.supports(release.target)) {
      fail(
        new InvocationError(
          ErrorCode.unprocessable,
          `release ${release.number} of ${org}/${app} targets ${release.target}: ${release.target} is not supported by this runner yet`,
        ),
        release.id,
      );
      return;
    }
    let admission: Admission | null = null;
    if (route === 'public') {
      const admitted = this.deps.limits.admit(fn, false);
      if (admitted instanceof InvocationError) {
        fail(admitted, release.id);
        return;
      }
      admission = admitted;
    }

    let lease = this.deps.pool.tryAcquire(fn, executionId);
    if (lease === null) {
      try {
        lease = await this.deps.pool.acquire(fn, executionId);
      } catch (error) {
        admission?.release(0);
        const failure =
          error instanceof InvocationError ? error : new InvocationError(ErrorCode.internal, 'the runner could not get an instance');
        if (!(error instanceof InvocationError)) this.deps.logger.error({ err: error, functionId: fn.functionId }, 'acquire failed');
        fail(failure, release.id);
        return;
      }
      if (req.socket.destroyed) {
        // The caller left while it waited.
        admission?.release(0);
        this.deps.pool.release(lease);
        this.deps.metrics.invocation(CALLER_CLOSED, (performance.now() - startedAt) / 1000, false);
        this.report(fn, executionId, lease.instance.spec.release.id, CALLER_CLOSED, 'the caller closed the connection', startedAt, at);
        return;
      }
    }
    if (lease.cold) {
      this.deps.logger.debug(
        {
          functionId: fn.functionId,
          executionId,
          resolvedMs: round(resolvedAt - startedAt),
          acquiredMs: round(performance.now() - startedAt),
        },
        'cold invocation',
      );
    }
    new Invocation(this.deps, res, fn, lease, startedAt, at, admission).run({
      method: req.method ?? 'GET',
      path,
      headers: forwardedHeaders(req.rawHeaders, executionId, fn.functionId),
      body,
      executionId,
    });
  }

  private report(
    fn: ResolvedFunction,
    executionId: string,
    releaseId: string | null,
    statusCode: number,
    error: string,
    startedAt: number,
    at: number,
  ): void {
    const durationMs = performance.now() - startedAt;
    this.deps.reporter.report({
      executionId,
      appId: fn.appId,
      releaseId,
      statusCode,
      durationMs: Math.round(durationMs * 1000) / 1000,
      cold: false,
      error,
      at: new Date(at).toISOString(),
    });
  }

  private async readyz(res: ServerResponse): Promise<void> {
    let checks: Record<string, boolean>;
    try {
      checks = await this.deps.readiness();
    } catch {
      checks = {};
    }
    const ready = Object.keys(checks).length > 0 && Object.values(checks).every(Boolean);
    if (ready) sendJson(res, 200, { status: 'ready', checks });
    else {
      const down = Object.entries(checks)
        .filter(([, ok]) => !ok)
        .map(([name]) => name);
      sendError(res, ErrorCode.unavailable, `not ready: ${down.join(', ') || 'checks failed'} unreachable`);
    }
  }

  private async metrics(res: ServerResponse): Promise<void> {
    try {
      const text = await this.deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.deps.metrics.registry.contentType });
      res.end(text);
    } catch (error) {
      this.deps.logger.error({ err: error }, 'could not render metrics');
      sendError(res, ErrorCode.internal, 'could not render metrics');
    }
  }
}

/** `/v1/invoke/{org}/{app}{/path}{?query}` → names and the program's path (`/` when none). */
export function parseInvokePath(url: string): InvokeTarget | InvocationError {
  const rest = url.slice(INVOKE_PREFIX.length);
  const queryAt = rest.indexOf('?');
  const pathPart = queryAt === -1 ? rest : rest.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rest.slice(queryAt);
  const orgEnd = pathPart.indexOf('/');
  const usage = () => new InvocationError(ErrorCode.notFound, `invoke a function at ${RUNNER_INVOKE_PREFIX}/{org}/{app}[/path]`);
  if (orgEnd <= 0) return usage();
  const afterOrg = pathPart.slice(orgEnd + 1);
  const appEnd = afterOrg.indexOf('/');
  const rawApp = appEnd === -1 ? afterOrg : afterOrg.slice(0, appEnd);
  if (rawApp.length === 0) return usage();
  let org = pathPart.slice(0, orgEnd);
  let app = rawApp;
  try {
    if (org.includes('%')) org = decodeURIComponent(org);
    if (app.includes('%')) app = decodeURIComponent(app);
  } catch {
    return new InvocationError(ErrorCode.validation, 'the org or app name is not valid percent-encoding');
  }
  if (!NAME.test(org) || !NAME.test(app)) return new InvocationError(ErrorCode.validation, 'not a valid org or app name');
  const subPath = appEnd === -1 ? '/' : afterOrg.slice(appEnd);
  return { org, app, path: subPath + query };
}

/**
 * The caller's headers minus the connection-level and platform ones (an Authorization that
 * presents an Ignite API key among them: no handler is given the platform's credential), plus the
 * execution and function ids.
 */
export function forwardedHeaders(raw: string[], executionId: string, functionId: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (SKIPPED_REQUEST_HEADERS.has(lower) || lower.startsWith('x-ignite-')) continue;
    if (lower === 'authorization' && presentsApiKey(raw[i + 1])) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push(igniteHeaders.executionId, executionId, igniteHeaders.functionId, functionId);
  return out;
}

/** The whole request body (null when there is none), at most `limit` bytes. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const declared = req.headers['content-length'];
  if (declared === undefined && req.headers['transfer-encoding'] === undefined) return Promise.resolve(null);
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = () => {
      cleanup();
      reject(new InvocationError(ErrorCode.validation, 'the request body could not be read'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

function tooLarge(limitBytes: number): InvocationError {
  return new InvocationError(ErrorCode.payloadTooLarge, invokeErrors.payloadTooLarge(limitBytes), { details: { limitBytes } });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
