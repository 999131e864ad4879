import { join } from 'node:path';
import { repoRoot } from '@ignite/testing';

interface InternalApiConfig {
  dataDir: string;
  tokenKey: Buffer | undefined;
  maxArtifactBytes: number;
  clockToleranceSeconds: number;
}

interface NestApp {
  listen(port: number, host: string): Promise<unknown>;
  getUrl(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts the API's real internal build endpoints (apps/api/src/internal, the Nest module the API
 * serves them with) on the Fastify adapter, on a free port. The module is loaded by path: the
 * compile worker does not depend on the API app, this is a test-only link between the two sides of
 * the hand-over, kept out of tsc's project graph. Listens on 127.0.0.1, on a free port, unless told otherwise.
 */
export async function startInternalApi(
  config: InternalApiConfig,
  listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 },
): Promise<{ url: string; close: () => Promise<void> }> {
  const modulePath = join(repoRoot, 'apps', 'api', 'src', 'internal');
  const { InternalBuildsModule } = require(modulePath) as { InternalBuildsModule: { forRoot(config: InternalApiConfig): unknown } };
  const { NestFactory } = require('@nestjs/core') as {
    NestFactory: { create(module: unknown, adapter: unknown, options: unknown): Promise<NestApp> };
  };
  const { FastifyAdapter } = require('@nestjs/platform-fastify') as { FastifyAdapter: new () => unknown };
  const app = await NestFactory.create(InternalBuildsModule.forRoot(config), new FastifyAdapter(), { logger: false });
  await app.listen(listen.port, listen.host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { url, close: () => app.close() };
}
