import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { v7 } from 'uuid';
import type { DevInstance } from './dev-instance';

/** The platform's error codes and statuses the dev server answers with (packages/contracts' `ErrorCode`). */
const ERRORS = {
  unavailable: { code: 'unavailable', status: 503 },
  functionError: { code: 'function_error', status: 500 },
  functionTimeout: { code: 'function_timeout', status: 504 },
  badGateway: { code: 'bad_gateway', status: 502 },
} as const;

/** `POST /v1/orgs/{org}/apps/{app}/invoke`, the data plane's public route. */
const INVOKE_ROUTE = /^\/v1\/orgs\/[^/?]+\/apps\/[^/?]+\/invoke(?=\?|$)/;

export interface DevServerOptions {
  port: number;
  functionId: string;
  timeoutMs: number;
  /** Why there is nothing to serve yet (the first build failed), for the 503's message. */
  notReady: () => string;
  /** An invocation ran past the time limit on `instance` (native: the runner kills such an instance). */
  onTimeout?: (instance: DevInstance) => void;
}

/**
 * The platform's invoke semantics in front of the instance of the latest good build: each request
 * gets an execution id (UUIDv7, `x-ignite-execution-id`, as the runner gives one), the answer the
 * runner's `x-ignite-*` headers, a time limit (504 `{"error","code"}`), and an instance that dies
 * mid-request a 500 (the next build or restart serves on). Requests go to the instance current
 * when they arrive: a swap never drops one.
 */
export class DevServer {
  private current: DevInstance | null = null;
  /** A new instance on its way in place of one that cannot serve: requests wait for it. */
  private replacing: Promise<void> | null = null;
  private server: Server | null = null;

  constructor(private readonly options: DevServerOptions) {}

  /** Serves `instance` from now on; resolves with the one it replaced (stop it once idle). */
  swap(instance: DevInstance | null): DevInstance | null {
    const previous = this.current;
    this.current = instance;
    return previous;
  }

  get instance(): DevInstance | null {
    return this.current;
  }

  /** Serves what `start` starts in place of the current instance; requests meanwhile wait for it. */
  replace(start: () => Promise<DevInstance>, onError: (error: Error) => void): void {
    if (this.replacing !== null) return;
    this.replacing = start().then(
      (instance) => {
        this.current = instance;
      },
      (error: Error) => onError(error),
    );
    void this.replacing.finally(() => {
      this.replacing = null;
    });
  }

  listen(): Promise<number> {
    this.server = createServer((req, res) => {
      if (this.replacing === null) this.handle(req, res);
      else void this.replacing.then(() => this.handle(req, res));
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, '127.0.0.1', () => resolve((this.server!.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    const server = this.server;
    if (server === null) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const executionId = v7();
    const started = Date.now();
    const instance = this.current;
    const headers = (release: string | null, cold: boolean) => ({
      'x-ignite-execution-id': executionId,
      'x-ignite-function-id': this.options.functionId,
      ...(release !== null ? { 'x-ignite-release': release, 'x-ignite-cold': String(cold) } : {}),
      'x-ignite-duration-ms': String(Date.now() - started),
    });
    const fail = (error: (typeof ERRORS)[keyof typeof ERRORS], message: string) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = JSON.stringify({ error: message, code: error.code });
      res.writeHead(error.status, { 'content-type': 'application/json', ...headers(instance?.options.release ?? null, false) });
      res.end(body);
    };
    if (instance === null || !instance.running) {
      fail(ERRORS.unavailable, instance === null ? this.options.notReady() : 'the function is restarting; try again in a moment');
      return;
    }
    const cold = instance.served === 0;
    instance.served++;
    instance.inFlight++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      instance.inFlight--;
      clearTimeout(timer);
    };
    const upstream = request({
      host: '127.0.0.1',
      port: instance.port,
      method: req.method,
      // The platform's invoke route too (`ignite invoke` with IGNITE_INVOKE_URL pointed here): the handler sees `/`.
      path: (req.url ?? '/').replace(INVOKE_ROUTE, '/'),
      headers: { ...req.headers, 'x-ignite-execution-id': executionId, 'x-ignite-function-id': this.options.functionId },
    });
    const timer = setTimeout(() => {
      upstream.destroy(new Error('timeout'));
      fail(ERRORS.functionTimeout, `the function did not finish within its time limit of ${this.options.timeoutMs} ms`);
      settle();
      this.options.onTimeout?.(instance);
    }, this.options.timeoutMs);
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, { ...answer.headers, ...headers(instance.options.release, cold) });
      answer.pipe(res);
      answer.on('end', settle);
      answer.on('error', settle);
    });
    upstream.on('error', () => {
      if (settled) return;
      // A process that died says so within moments.
      setTimeout(() => {
        if (settled) return;
        if (!instance.running) {
          fail(
            ERRORS.functionError,
            `the function's process exited while handling the request (${instance.exitSignal ?? `exit code ${instance.exitCode}`})`,
          );
        } else fail(ERRORS.badGateway, 'the function closed the connection without answering');
        settle();
      }, 50);
    });
    res.on('close', () => {
      if (!settled) upstream.destroy();
      settle();
    });
    req.pipe(upstream);
  }
}
