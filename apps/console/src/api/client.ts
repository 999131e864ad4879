import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './generated/openapi';

/** The API's documented answers, by schema name (generated from its OpenAPI document). */
export type Schemas = components['schemas'];
export type App = Schemas['App'];
export type AppDetail = Schemas['AppDetail'];
export type Build = Schemas['Build'];
export type Release = Schemas['Release'];
export type Invocation = Schemas['Invocation'];
export type InvocationDetail = Schemas['InvocationDetail'];
export type FunctionLogLine = Schemas['FunctionLogLine'];
export type FunctionStats = Schemas['FunctionStats'];

/** The typed client of the public REST API: every path, parameter and answer is checked by tsc. */
export type ApiClient = Client<paths>;

/**
 * The API said no: its own message (`{"error", "code"}`, every error body of the API), shown to the
 * user as it is, with the status for the code that reacts to it (401 signs out).
 */
export class ApiProblem extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** The API's error body as an ApiProblem; a body that is not the API's (a proxy's page) says so. */
export function problemOf(status: number, body: unknown): ApiProblem {
  if (body && typeof body === 'object' && 'error' in body && typeof body.error === 'string') {
    const code = 'code' in body && typeof body.code === 'string' ? body.code : undefined;
    return new ApiProblem(body.error, status, code);
  }
  return new ApiProblem(`The API answered ${status} without its JSON error body.`, status, undefined);
}

/** A client that sends `key` with every call; `onUnauthorized` hears of a 401 (a revoked key). */
export function createApiClient(key: string, onUnauthorized: () => void): ApiClient {
  const client = createClient<paths>({ baseUrl: window.location.origin });
  client.use({
    onRequest({ request }) {
      request.headers.set('authorization', `Bearer ${key}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) onUnauthorized();
      return response;
    },
  });
  return client;
}

/** The answer's data, or its error as an ApiProblem: what react-query's query functions return. */
export async function dataOf<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw new ApiProblem(`Cannot reach the API (${error instanceof Error ? error.message : String(error)}).`, 0, undefined);
  }
  if (!result.response.ok) throw problemOf(result.response.status, result.error);
  return result.data as T;
}
