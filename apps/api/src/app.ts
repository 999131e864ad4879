import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import fastifyMultipart from '@fastify/multipart';
import type { RawBodyRequest } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { ApiConfig } from './config';
import { serveConsole } from './console/serve-console';
import { buildOpenApiDocument, serveDocs } from './docs/openapi';
import { MetricsService } from './infra/metrics.service';
import { InvokeService } from './invoke/invoke.service';

/** The invoke route's patterns, as Nest registers InvokeController's. */
const INVOKE_ROUTES = new Set(['/v1/orgs/:org/apps/:app/invoke', '/v1/orgs/:org/apps/:app/invoke/*']);

const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The caller's x-request-id when it is a sane token, else a new one. */
function requestIdOf(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * The API, configured and initialized (routes, hooks, docs, background consumers), not yet
 * listening: `main.ts` listens on the configured port, tests on an ephemeral one.
 */
export async function createApiApp(config: ApiConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({ bodyLimit: config.MAX_BODY_BYTES, genReqId: requestIdOf, requestIdHeader: false });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { rawBody: true, bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.flushLogs();

  const fastify = app.getHttpAdapter().getInstance();
  // JSON and urlencoded bodies are parsed by Nest with `rawBody`; text keeps its bytes too (for invoke).
  fastify.removeContentTypeParser('text/plain');
  fastify.addContentTypeParser('text/plain', { parseAs: 'buffer', bodyLimit: config.MAX_BODY_BYTES }, (request, body, done) => {
    (request as RawBodyRequest<FastifyRequest>).rawBody = body as Buffer;
    done(null, (body as Buffer).toString('utf8'));
  });
  // Any other body is left unread: the route streams it (draft archives) or reads it with a limit (invoke).
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
  await fastify.register(fastifyMultipart, { throwFileSizeLimit: false });

  const metrics = app.get(MetricsService);
  // The invoke route is forwarded from here, the first hook: before Nest's middleware, guard,
  // pipes and body parser, none of which it needs (the data plane checks the key and the app), and
  // which cost several times what forwarding it does. InvokeController documents the route and
  // serves it the same way should this hook not take it.
  const invoker = app.get(InvokeService);
  fastify.addHook('onRequest', (request, reply, done) => {
    if (INVOKE_ROUTES.has(request.routeOptions.url ?? '')) {
      const { org, app: name } = request.params as { org: string; app: string };
      void invoker.invoke(org, name, request, reply);
    }
    done();
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.httpRequests.inc({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
    done();
  });

  await serveDocs(app, buildOpenApiDocument(app));
  await serveConsole(app, config);
  await app.init();
  return app;
}
