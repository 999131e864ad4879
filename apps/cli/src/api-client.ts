import { request as httpRequest } from 'node:http';
import type { z } from 'zod';
import type { CliConfig } from './cli-config';
import type { AppRef } from './refs';

/** The answers' schemas, and zod: loaded when an answer is to be parsed, not at start (a tenth of a second of `ignite invoke`, which parses none). */
type Schemas = typeof import('@ignite/contracts') & { z: typeof z };
let schemas: Schemas | undefined;
function loadSchemas(): Schemas {
  schemas ??= { ...require('@ignite/contracts'), z: require('zod').z } as Schemas;
  return schemas;
}

/** The API answered with an error: its message and status, as the API's JSON error body gives them. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

/** The API (or the data plane, for invocations) could not be reached at all. */
export class ApiUnreachableError extends Error {
  constructor(
    readonly url: string,
    cause: string,
    what: 'API' | 'invoke endpoint' = 'API',
  ) {
    const setting = what === 'API' ? 'IGNITE_API_URL' : 'IGNITE_INVOKE_URL';
    super(`cannot reach the Ignite ${what} at ${url} (${cause}); start the platform with \`npm start\`, or set ${setting}`);
  }
}

export interface InvokeResult {
  status: number;
  body: string;
  executionId: string | null;
  cold: string | null;
  release: string | null;
  durationMs: string | null;
}

/** What `GET …/logs` filters by (each optional; see the API's documentation). */
export interface LogQuery {
  since?: string;
  until?: string;
  execution?: string;
  release?: number;
  contains?: string;
  limit?: number;
  cursor?: string;
}

function queryString(query: LogQuery): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

const path = (ref: AppRef, rest = '') => `/v1/orgs/${encodeURIComponent(ref.org)}/apps/${encodeURIComponent(ref.app)}${rest}`;

/** A typed client of the API's contract: every answer is parsed with the schema the API documents. */
export class ApiClient {
  constructor(private readonly config: CliConfig) {}

  private async request(
    method: string,
    route: string,
    init: { body?: string | Uint8Array; headers?: Record<string, string>; base?: 'api' | 'invoke'; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const base = init.base === 'invoke' ? this.config.invokeUrl : this.config.url;
    let response: Response;
    try {
      response = await fetch(`${base}${route}`, {
        method,
        body: init.body,
        headers: { ...(this.config.key ? { authorization: `Bearer ${this.config.key}` } : {}), ...init.headers },
        ...(init.signal ? { signal: init.signal } : {}),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ApiUnreachableError(
        base,
        cause?.code ?? cause?.message ?? (error as Error).message,
        init.base === 'invoke' ? 'invoke endpoint' : 'API',
      );
    }
    return response;
  }

  private async json<S extends z.ZodType>(pick: (s: Schemas) => S, method: string, route: string, body?: unknown): Promise<z.infer<S>> {
    const response = await this.request(
      method,
      route,
      body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    );
    const text = await response.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!response.ok) throw new ApiError(errorMessage(parsed, response), response.status, parsed);
    return pick(loadSchemas()).parse(parsed);
  }

  createApp(org: string, input: { name: string; runtime: string; rustTarget: string; env: Record<string, string>; auth?: string }) {
    return this.json((s) => s.z.object({ app: s.AppViewSchema }), 'POST', `/v1/orgs/${encodeURIComponent(org)}/apps`, input).then(
      (r) => r.app,
    );
  }

  listApps(org: string) {
    return this.json((s) => s.z.object({ apps: s.z.array(s.AppViewSchema) }), 'GET', `/v1/orgs/${encodeURIComponent(org)}/apps`).then(
      (r) => r.apps,
    );
  }

  getApp(ref: AppRef) {
    return this.json((s) => s.z.object({ app: s.AppDetailViewSchema }), 'GET', path(ref)).then((r) => r.app);
  }

  deleteApp(ref: AppRef) {
    return this.json((s) => s.z.unknown(), 'DELETE', path(ref));
  }

  updateApp(ref: AppRef, change: { auth?: string; rateLimitPerSecond?: number | null; concurrencyLimit?: number | null }) {
    return this.json((s) => s.z.object({ app: s.AppViewSchema }), 'PATCH', path(ref), change).then((r) => r.app);
  }

  createKey(org: string, name: string) {
    return this.json((s) => s.ApiKeyCreatedSchema, 'POST', `/v1/orgs/${encodeURIComponent(org)}/keys`, { name });
  }

  listKeys(org: string) {
    return this.json((s) => s.z.object({ keys: s.z.array(s.ApiKeyViewSchema) }), 'GET', `/v1/orgs/${encodeURIComponent(org)}/keys`).then(
      (r) => r.keys,
    );
  }

  revokeKey(org: string, id: string) {
    return this.json((s) => s.z.unknown(), 'DELETE', `/v1/orgs/${encodeURIComponent(org)}/keys/${encodeURIComponent(id)}`);
  }

  patchEnv(ref: AppRef, patch: { set?: Record<string, string>; unset?: string[] }) {
    return this.json((s) => s.z.object({ app: s.AppViewSchema }), 'PATCH', path(ref, '/env'), patch).then((r) => r.app);
  }

  async saveDraft(ref: AppRef, archive: Buffer, contentType: string) {
    const response = await this.request('PUT', path(ref, '/draft'), {
      body: new Uint8Array(archive),
      headers: { 'content-type': contentType },
    });
    const parsed = safeJson(await response.text());
    if (!response.ok) throw new ApiError(errorMessage(parsed, response), response.status, parsed);
    return loadSchemas().DraftSavedSchema.parse(parsed);
  }

  compile(ref: AppRef) {
    return this.json((s) => s.z.object({ build: s.BuildViewSchema }), 'POST', path(ref, '/builds')).then((r) => r.build);
  }

  getBuild(org: string, buildId: string) {
    return this.json((s) => s.z.object({ build: s.BuildViewSchema }), 'GET', `/v1/orgs/${encodeURIComponent(org)}/builds/${buildId}`).then(
      (r) => r.build,
    );
  }

  /** The build's log; with `follow`, lines arrive as the worker writes them until the build ends. */
  async buildLogs(org: string, buildId: string, follow: boolean): Promise<ReadableStream<Uint8Array>> {
    const response = await this.request('GET', `/v1/orgs/${encodeURIComponent(org)}/builds/${buildId}/logs${follow ? '?follow=true' : ''}`);
    if (!response.ok || !response.body) {
      const parsed = safeJson(await response.text());
      throw new ApiError(errorMessage(parsed, response), response.status, parsed);
    }
    return response.body;
  }

  publish(ref: AppRef) {
    return this.json((s) => s.z.object({ release: s.ReleaseViewSchema }), 'POST', path(ref, '/releases')).then((r) => r.release);
  }

  listReleases(ref: AppRef) {
    return this.json((s) => s.z.object({ releases: s.z.array(s.ReleaseViewSchema) }), 'GET', path(ref, '/releases')).then(
      (r) => r.releases,
    );
  }

  activateRelease(ref: AppRef, number: number) {
    return this.json((s) => s.z.object({ release: s.ReleaseViewSchema }), 'POST', path(ref, `/releases/${number}/activate`)).then(
      (r) => r.release,
    );
  }

  listInvocations(ref: AppRef, limit: number) {
    return this.json(
      (s) => s.z.object({ invocations: s.z.array(s.InvocationViewSchema) }),
      'GET',
      path(ref, `/invocations?limit=${limit}`),
    ).then((r) => r.invocations);
  }

  getInvocation(ref: AppRef, executionId: string) {
    return this.json(
      (s) => s.z.object({ invocation: s.InvocationDetailViewSchema }),
      'GET',
      path(ref, `/invocations/${encodeURIComponent(executionId)}`),
    ).then((r) => r.invocation);
  }

  /** A page of the app's log (see `LogQuery`). */
  logs(ref: AppRef, query: LogQuery) {
    return this.json((s) => s.FunctionLogPageSchema, 'GET', path(ref, `/logs${queryString(query)}`));
  }

  /** The app's log as it is written (Server-Sent Events), from `query.cursor` or from now on. */
  async followLogs(ref: AppRef, query: LogQuery, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const response = await this.request('GET', path(ref, `/logs/follow${queryString(query)}`), {
      headers: { accept: 'text/event-stream' },
      signal,
    });
    if (!response.ok || !response.body) {
      const parsed = safeJson(await response.text());
      throw new ApiError(errorMessage(parsed, response), response.status, parsed);
    }
    return response.body;
  }

  stats(ref: AppRef, window: string) {
    return this.json(
      (s) => s.z.object({ stats: s.FunctionStatsSchema }),
      'GET',
      path(ref, `/stats?window=${encodeURIComponent(window)}`),
    ).then((r) => r.stats);
  }

  /**
   * Calls the app on the data plane (`invokeUrl`): the same route as the API's, without the API in
   * the way. With node:http, not fetch: one call is all `ignite invoke` makes, and fetch's first
   * use costs more than the call.
   */
  invoke(ref: AppRef, payload: string): Promise<InvokeResult> {
    const base = this.config.invokeUrl;
    const url = new URL(`${base}${path(ref, '/invoke')}`);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    if (this.config.key) headers.authorization = `Bearer ${this.config.key}`;
    return new Promise((resolve, reject) => {
      // node:https (TLS) only when asked for: loading it is a good part of the CLI's start.
      const send: typeof httpRequest =
        url.protocol === 'https:' ? (require('node:https') as typeof import('node:https')).request : httpRequest;
      const call = send(url, { method: 'POST', headers }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const header = (name: string) => {
            const value = response.headers[name];
            return typeof value === 'string' ? value : null;
          };
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            executionId: header('x-ignite-execution-id'),
            cold: header('x-ignite-cold'),
            release: header('x-ignite-release'),
            durationMs: header('x-ignite-duration-ms'),
          });
        });
      });
      call.on('error', (error: NodeJS.ErrnoException) =>
        reject(new ApiUnreachableError(base, error.code ?? error.message, 'invoke endpoint')),
      );
      call.end(payload);
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function errorMessage(body: unknown, response: { status: number; statusText?: string }): string {
  if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string') return body.error;
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 500);
  return `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
}
