import {
  ApiKeyCreatedSchema,
  ApiKeyViewSchema,
  AppDetailViewSchema,
  AppViewSchema,
  BuildViewSchema,
  DraftSavedSchema,
  InvocationViewSchema,
  ReleaseViewSchema,
} from '@ignite/contracts';
import { z } from 'zod';
import type { CliConfig } from './cli-config';
import type { AppRef } from './refs';

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

const path = (ref: AppRef, rest = '') => `/v1/orgs/${encodeURIComponent(ref.org)}/apps/${encodeURIComponent(ref.app)}${rest}`;

/** A typed client of the API's contract: every answer is parsed with the schema the API documents. */
export class ApiClient {
  constructor(private readonly config: CliConfig) {}

  private async request(
    method: string,
    route: string,
    init: { body?: string | Uint8Array; headers?: Record<string, string>; base?: 'api' | 'invoke' } = {},
  ): Promise<Response> {
    const base = init.base === 'invoke' ? this.config.invokeUrl : this.config.url;
    let response: Response;
    try {
      response = await fetch(`${base}${route}`, {
        method,
        body: init.body,
        headers: { ...(this.config.key ? { authorization: `Bearer ${this.config.key}` } : {}), ...init.headers },
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

  private async json<S extends z.ZodType>(schema: S, method: string, route: string, body?: unknown): Promise<z.infer<S>> {
    const response = await this.request(
      method,
      route,
      body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } },
    );
    const text = await response.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!response.ok) throw new ApiError(errorMessage(parsed, response), response.status, parsed);
    return schema.parse(parsed);
  }

  createApp(org: string, input: { name: string; runtime: string; rustTarget: string; env: Record<string, string>; auth?: string }) {
    return this.json(z.object({ app: AppViewSchema }), 'POST', `/v1/orgs/${encodeURIComponent(org)}/apps`, input).then((r) => r.app);
  }

  listApps(org: string) {
    return this.json(z.object({ apps: z.array(AppViewSchema) }), 'GET', `/v1/orgs/${encodeURIComponent(org)}/apps`).then((r) => r.apps);
  }

  getApp(ref: AppRef) {
    return this.json(z.object({ app: AppDetailViewSchema }), 'GET', path(ref)).then((r) => r.app);
  }

  deleteApp(ref: AppRef) {
    return this.json(z.unknown(), 'DELETE', path(ref));
  }

  updateApp(ref: AppRef, change: { auth?: string; rateLimitPerSecond?: number | null; concurrencyLimit?: number | null }) {
    return this.json(z.object({ app: AppViewSchema }), 'PATCH', path(ref), change).then((r) => r.app);
  }

  createKey(org: string, name: string) {
    return this.json(ApiKeyCreatedSchema, 'POST', `/v1/orgs/${encodeURIComponent(org)}/keys`, { name });
  }

  listKeys(org: string) {
    return this.json(z.object({ keys: z.array(ApiKeyViewSchema) }), 'GET', `/v1/orgs/${encodeURIComponent(org)}/keys`).then((r) => r.keys);
  }

  revokeKey(org: string, id: string) {
    return this.json(z.unknown(), 'DELETE', `/v1/orgs/${encodeURIComponent(org)}/keys/${encodeURIComponent(id)}`);
  }

  patchEnv(ref: AppRef, patch: { set?: Record<string, string>; unset?: string[] }) {
    return this.json(z.object({ app: AppViewSchema }), 'PATCH', path(ref, '/env'), patch).then((r) => r.app);
  }

  async saveDraft(ref: AppRef, archive: Buffer, contentType: string) {
    const response = await this.request('PUT', path(ref, '/draft'), {
      body: new Uint8Array(archive),
      headers: { 'content-type': contentType },
    });
    const parsed = safeJson(await response.text());
    if (!response.ok) throw new ApiError(errorMessage(parsed, response), response.status, parsed);
    return DraftSavedSchema.parse(parsed);
  }

  compile(ref: AppRef) {
    return this.json(z.object({ build: BuildViewSchema }), 'POST', path(ref, '/builds')).then((r) => r.build);
  }

  getBuild(org: string, buildId: string) {
    return this.json(z.object({ build: BuildViewSchema }), 'GET', `/v1/orgs/${encodeURIComponent(org)}/builds/${buildId}`).then(
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
    return this.json(z.object({ release: ReleaseViewSchema }), 'POST', path(ref, '/releases')).then((r) => r.release);
  }

  listReleases(ref: AppRef) {
    return this.json(z.object({ releases: z.array(ReleaseViewSchema) }), 'GET', path(ref, '/releases')).then((r) => r.releases);
  }

  activateRelease(ref: AppRef, number: number) {
    return this.json(z.object({ release: ReleaseViewSchema }), 'POST', path(ref, `/releases/${number}/activate`)).then((r) => r.release);
  }

  listInvocations(ref: AppRef, limit: number) {
    return this.json(z.object({ invocations: z.array(InvocationViewSchema) }), 'GET', path(ref, `/invocations?limit=${limit}`)).then(
      (r) => r.invocations,
    );
  }

  /** Calls the app on the data plane (`invokeUrl`): the same route as the API's, without the API in the way. */
  async invoke(ref: AppRef, payload: string): Promise<InvokeResult> {
    const response = await this.request('POST', path(ref, '/invoke'), {
      body: payload,
      headers: { 'content-type': 'application/json' },
      base: 'invoke',
    });
    return {
      status: response.status,
      body: await response.text(),
      executionId: response.headers.get('x-ignite-execution-id'),
      cold: response.headers.get('x-ignite-cold'),
      release: response.headers.get('x-ignite-release'),
      durationMs: response.headers.get('x-ignite-duration-ms'),
    };
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
