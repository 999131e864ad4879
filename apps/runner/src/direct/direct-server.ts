import type { Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import {
  type DirectAccess,
  type DirectSummary,
  headers as igniteHeaders,
  PUBLIC_INVOKE_PREFIX,
  presentsApiKey,
  RUNNER_INVOKE_PREFIX,
} from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { InvokeAccess } from '../data-plane/invoke-access';
import type { Admission, InvocationLimits } from '../data-plane/limits';
import { parsePublicInvokePath } from '../data-plane/public-path';
import { InvocationError } from '../errors';
import type { FunctionInstance, InstanceSpec } from '../instance';
import type { InternalToken } from '../internal-token';
import { listen } from '../listen';
import type { Metrics } from '../metrics';
import type { InstancePool, Lease } from '../pool';
import type { ReleaseResolver, ResolvedFunction } from '../release-resolver';
import type { InvocationReporter } from '../reporter';
import { parseInvokePath } from '../server';
import { type HeadOutcome, type RequestHead, readHead, resumeReading, withoutPlatformHeaders } from './head-reader';
import type { DirectHost } from './instance-connections';

/** A request head larger than this is left to the HTTP server (which answers 431). */
const MAX_HEAD_BYTES = 64 * 1024;
/** How long a connection may take to send the head of its next request (node:http's headersTimeout). */
const HEAD_TIMEOUT_MS = 60_000;
const INTERNAL_PREFIX = `${RUNNER_INVOKE_PREFIX}/`;

/** What a connection of the public route is handed over with: its terms for the program, its hold on the limits. */
export interface PublicTerms {
  access: DirectAccess;
  admission: Admission;
}

/** An instance that can take a caller's connection itself (native programs built with the SDK, the wasm host). */
export interface DirectTarget extends FunctionInstance {
  /**
   * Takes the connection (true), or leaves it to the runner (false: no room, not ready, or a
   * public connection and a program of an SDK that cannot serve one).
   */
  attach(socket: Socket, head: Buffer, lease: Lease, terms: PublicTerms | null): boolean;
}

function isDirectTarget(instance: FunctionInstance): instance is DirectTarget {
  return typeof (instance as Partial<DirectTarget>).attach === 'function';
}

export interface DirectServerDeps {
  resolver: ReleaseResolver;
  /** The public route's rules (API keys, public apps). */
  access: InvokeAccess;
  limits: InvocationLimits;
  /** How long a handed-over public connection stays authenticated before the runner checks its key again. */
  accessTtlMs: number;
  /** Largest request body: a first request declaring more is answered 413 by the HTTP server. */
  maxBodyBytes: number;
  pool: InstancePool;
  reporter: InvocationReporter;
  metrics: Metrics;
  logger: Logger;
  /** The runner's HTTP server: every connection that cannot be handed over is served there, exactly as on the runner's port. */
  fallback: HttpServer;
  /** Required of a connection's first request when set. */
  internalToken: InternalToken;
  executionId: () => string;
}

/**
 * The runner's direct port, the data plane's entry: the same routes as its HTTP port, but a
 * connection whose first request invokes a function is handed to an instance of that function
 * (the socket itself, see `InstanceConnections`: a native release's program, or a wasm release's
 * host), which then serves every request on it without the runner in the byte path.
 *
 * - The public route (`/v1/orgs/{org}/apps/{app}/invoke…`, what users and the CLI call): the
 *   caller's API key is checked against the key cache and the app against the release cache (no
 *   Postgres read per request), the limits admit the connection, and the program gets it with
 *   its terms (`DirectAccess`): later requests must carry the same key for the same function,
 *   within the key cache's TTL and the rate budget, else they come back here and are routed anew.
 * - The internal route (`/v1/invoke/{org}/{app}…`, in-cluster callers): with
 *   `RUNNER_INTERNAL_TOKEN` set, the first request must carry it (`x-ignite-internal-token`); a
 *   connection is bound to one function (a request for anything else gets 421 and it closes).
 *
 * The runner removes every `x-ignite-*` header from what it hands over, and the program strips
 * them (and an Ignite API key) from every later request before the handler. Everything else
 * (other routes, unknown apps, a refused caller, a function with no instance free, a release
 * kind this runner does not serve, a program of an SDK without public connections) goes to the
 * runner's HTTP server on the same connection, which answers as it does on its own port.
 */
export class DirectServer implements DirectHost {
  readonly tcp: Server;
  /** Connections being read or routed here (not in a program's hands). */
  private readonly routing = new Set<Socket>();
  private closing = false;

  constructor(private readonly deps: DirectServerDeps) {
    this.tcp = createTcpServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.adopt(socket, Buffer.alloc(0)));
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listen(this.tcp, port, host);
  }

  /**
   * Stops accepting and closes the connections being routed. Resolves once every connection is
   * closed: those in programs' hands come back as their instances stop (and are closed then), so
   * stop the instances meanwhile.
   */
  close(): Promise<void> {
    this.closing = true;
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const socket of this.routing) socket.destroy();
    this.routing.clear();
    return closed;
  }

  // ------------------------------------------------------------ DirectHost

  readopt(socket: Socket, rest: Buffer): void {
    if (this.closing || socket.destroyed) {
      socket.destroy();
      return;
    }
    this.adopt(socket, rest);
  }

  release(lease: Lease, condemn?: string): void {
    this.deps.pool.release(lease, condemn);
  }

  reported(spec: InstanceSpec, summary: DirectSummary, line: Buffer): void {
    this.deps.metrics.directInvocations(summary);
    this.deps.reporter.reportDirect(spec.fn.appId, spec.release.id, line, summary.count);
  }

  answeredFor(spec: InstanceSpec, lease: Lease, executionId: string, status: number, error: string): void {
    this.deps.metrics.invocation(status, 0, lease.cold);
    this.deps.reporter.report({
      executionId,
      appId: spec.fn.appId,
      releaseId: spec.release.id,
      statusCode: status,
      durationMs: 0,
      cold: lease.cold,
      error,
      at: new Date().toISOString(),
    });
  }

  executionId(): string {
    return this.deps.executionId();
  }

  // ------------------------------------------------------------ routing

  /** A connection to route by its next request (new, or given back by an instance with `initial` already read). */
  private adopt(socket: Socket, initial: Buffer): void {
    this.routing.add(socket);
    socket.setNoDelay(true);
    readHead(socket, initial, { maxBytes: MAX_HEAD_BYTES, timeoutMs: HEAD_TIMEOUT_MS })
      .then((outcome) => this.route(socket, outcome))
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'could not route a direct connection');
        this.routing.delete(socket);
        socket.destroy();
      });
  }

  private async route(socket: Socket, outcome: HeadOutcome): Promise<void> {
    if (outcome.kind === 'gone' || this.closing) {
      this.routing.delete(socket);
      socket.destroy();
      return;
    }
    if (outcome.kind === 'other') {
      this.toHttpServer(socket, outcome.bytes);
      return;
    }
    const { head, bytes } = outcome;
    let fn: ResolvedFunction | null;
    let terms: PublicTerms | null = null;
    if (head.url.startsWith(INTERNAL_PREFIX)) {
      fn = await this.internalTarget(head);
    } else if (head.url.startsWith(PUBLIC_INVOKE_PREFIX)) {
      const admitted = await this.publicTarget(head);
      fn = admitted?.fn ?? null;
      terms = admitted?.terms ?? null;
    } else {
      fn = null;
    }
    const { pool } = this.deps;
    if (fn === null || fn.release === null || !pool.supports(fn.release.target)) {
      terms?.admission.release(0);
      this.toHttpServer(socket, bytes);
      return;
    }
    const leaseId = this.deps.executionId();
    let lease = pool.tryAcquire(fn, leaseId);
    if (lease === null) {
      try {
        lease = await pool.acquire(fn, leaseId);
      } catch {
        // Saturated or failing to start: the HTTP server tries again and answers with the reason.
        terms?.admission.release(0);
        this.toHttpServer(socket, bytes);
        return;
      }
    }
    if (socket.destroyed || this.closing) {
      terms?.admission.release(0);
      pool.release(lease);
      this.routing.delete(socket);
      socket.destroy();
      return;
    }
    const instance = lease.instance;
    if (!isDirectTarget(instance) || !instance.attach(socket, withoutPlatformHeaders(bytes), lease, terms)) {
      terms?.admission.release(0);
      pool.release(lease);
      this.toHttpServer(socket, bytes);
      return;
    }
    this.routing.delete(socket);
    this.deps.metrics.directHandoffs.inc();
  }

  /** The internal route's function, when the connection may be handed over (the token, when one is set). */
  private async internalTarget(head: RequestHead): Promise<ResolvedFunction | null> {
    const target = parseInvokePath(head.url);
    if (target instanceof InvocationError || !this.authorized(head.headers)) return null;
    const { resolver } = this.deps;
    return resolver.peek(`${target.org}/${target.app}`) ?? (await resolver.resolve(target.org, target.app).catch(() => null));
  }

  /**
   * The public route's function and the connection's terms, when it may be handed over: the
   * caller may invoke it and its key is the app's org's (or it has none), the first request's
   * body is within the limit, and the limits admit one more connection. Otherwise null, and the
   * HTTP server answers (401, 404, 413, 429) or proxies it.
   */
  private async publicTarget(head: RequestHead): Promise<{ fn: ResolvedFunction; terms: PublicTerms } | null> {
    const target = parsePublicInvokePath(head.url);
    if (target === null || target instanceof InvocationError) return null;
    const authorization = headerOf(head.headers, 'authorization');
    const declared = headerOf(head.headers, 'content-length');
    if (declared !== undefined && Number(declared) > this.deps.maxBodyBytes) return null;
    const { access } = this.deps;
    const decided = access.decideNow(target.org, target.app, authorization) ?? (await access.decide(target.org, target.app, authorization));
    if (!decided.allowed || !decided.handOver) return null;
    const fn = decided.fn;
    if (fn.release === null) return null;
    const admission = this.deps.limits.admit(fn, true);
    if (admission instanceof InvocationError) return null;
    const terms: DirectAccess = { ttlMs: this.deps.accessTtlMs };
    if (authorization !== undefined && presentsApiKey(authorization)) terms.authorization = authorization;
    if (admission.budget !== undefined) terms.budget = admission.budget;
    return { fn, terms: { access: terms, admission } };
  }

  /** The runner's HTTP server takes the connection, with what was read of it put back. */
  private toHttpServer(socket: Socket, bytes: Buffer): void {
    this.routing.delete(socket);
    if (socket.destroyed) return;
    resumeReading(socket);
    if (bytes.length > 0) socket.unshift(bytes);
    this.deps.fallback.emit('connection', socket);
    socket.resume();
  }

  private authorized(rawHeaders: string[]): boolean {
    const { internalToken } = this.deps;
    if (!internalToken.required) return true;
    return internalToken.accepts(headerOf(rawHeaders, igniteHeaders.internalToken));
  }
}

/** A header's value in a flat `[name, value, …]` list (the first of that name). */
function headerOf(rawHeaders: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === name.length && rawHeaders[i]!.toLowerCase() === name) return rawHeaders[i + 1];
  }
  return undefined;
}
