import type { Server as HttpServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { type DirectSummary, headers as igniteHeaders } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { FunctionInstance, InstanceSpec } from '../instance';
import type { InternalToken } from '../internal-token';
import { listen } from '../listen';
import type { Metrics } from '../metrics';
import type { InstancePool, Lease } from '../pool';
import type { ReleaseResolver } from '../release-resolver';
import type { InvocationReporter } from '../reporter';
import { parseInvokePath } from '../server';
import { type HeadOutcome, readHead, resumeReading, withoutPlatformHeaders } from './head-reader';
import type { DirectHost } from './instance-connections';

/** A request head larger than this is left to the HTTP server (which answers 431). */
const MAX_HEAD_BYTES = 64 * 1024;
/** How long a connection may take to send the head of its next request (node:http's headersTimeout). */
const HEAD_TIMEOUT_MS = 60_000;

/** An instance that can take a caller's connection itself (native programs built with the SDK). */
export interface DirectTarget extends FunctionInstance {
  /** Takes the connection (true), or leaves it to the runner (false: no room, not ready). */
  attach(socket: Socket, head: Buffer, lease: Lease): boolean;
}

function isDirectTarget(instance: FunctionInstance): instance is DirectTarget {
  return typeof (instance as Partial<DirectTarget>).attach === 'function';
}

export interface DirectServerDeps {
  resolver: ReleaseResolver;
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
 * The runner's direct port: the same routes as its HTTP port, but a connection whose first
 * request invokes a function with a native release is handed to an instance of that function
 * (the socket itself, see `InstanceConnections`), which then serves every request on it without
 * the runner in the byte path. A connection is bound to one function: a request for anything
 * else on it is answered 421 by the program and the connection closes. Callers authenticate per
 * connection: with `RUNNER_INTERNAL_TOKEN` set, the first request must carry it
 * (`x-ignite-internal-token`); the runner removes every `x-ignite-*` header from what it hands
 * over, and the program strips them from every later request before the handler.
 *
 * Everything else (other routes, wasm releases, unknown apps, a missing token, a function with
 * no instance free) goes to the runner's HTTP server on the same connection, which answers as
 * it does on its own port.
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
    const target = head.url.startsWith('/v1/invoke/') ? parseInvokePath(head.url) : null;
    if (target === null || target instanceof Error || !this.authorized(head.headers)) {
      this.toHttpServer(socket, bytes);
      return;
    }
    const { resolver, pool } = this.deps;
    const fn = resolver.peek(`${target.org}/${target.app}`) ?? (await resolver.resolve(target.org, target.app).catch(() => null));
    if (fn === null || fn.release === null || fn.release.target !== 'native' || !pool.supports('native')) {
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
        this.toHttpServer(socket, bytes);
        return;
      }
    }
    if (socket.destroyed || this.closing) {
      pool.release(lease);
      this.routing.delete(socket);
      socket.destroy();
      return;
    }
    const instance = lease.instance;
    if (!isDirectTarget(instance) || !instance.attach(socket, withoutPlatformHeaders(bytes), lease)) {
      pool.release(lease);
      this.toHttpServer(socket, bytes);
      return;
    }
    this.routing.delete(socket);
    this.deps.metrics.directHandoffs.inc();
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
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
      if (rawHeaders[i]!.toLowerCase() === igniteHeaders.internalToken) return internalToken.accepts(rawHeaders[i + 1]);
    }
    return false;
  }
}
