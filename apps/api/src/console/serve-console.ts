import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import { ErrorCode } from '@ignite/contracts';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import type { ApiConfig } from '../config';

/** Where `vite build` writes the console (apps/console/dist), from this file in src/ or dist/. */
export function consoleDir(config: Pick<ApiConfig, 'CONSOLE_DIR'>): string {
  return resolve(config.CONSOLE_DIR ?? join(__dirname, '..', '..', '..', 'console', 'dist'));
}

/**
 * The console may talk to this origin only, and nothing may frame it (it holds an API key):
 * scripts and styles from here (Recharts sets inline style attributes), no plugins, no framing.
 */
const CONSOLE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

/**
 * The web console at /console: its hashed assets (cached for good), and index.html for every
 * other path under it (the page routes itself; index.html is never cached, so a new build is
 * picked up on the next load). It is a client of the public API like any other: no key is needed
 * to load it, every call it makes carries the user's key.
 */
export async function serveConsole(app: NestFastifyApplication, config: Pick<ApiConfig, 'CONSOLE_DIR'>): Promise<void> {
  const root = consoleDir(config);
  const fastify = app.getHttpAdapter().getInstance();
  const notBuilt = (reply: FastifyReply) =>
    reply
      .code(503)
      .type('application/json; charset=utf-8')
      .send({
        error: `The console is not built (no ${join(root, 'index.html')}): npm start builds it, or set CONSOLE_DIR to a built console.`,
        code: ErrorCode.unavailable,
      });
  // Read on each load (a few hundred bytes): a console rebuilt while the API runs is served at once.
  const index = async (reply: FastifyReply) => {
    const page = await readFile(join(root, 'index.html')).catch(() => undefined);
    if (!page) return notBuilt(reply);
    return secure(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(page);
  };

  await fastify.register(fastifyStatic, {
    root: join(root, 'assets'),
    prefix: '/console/assets/',
    decorateReply: false,
    index: false,
    wildcard: true,
    immutable: true,
    maxAge: '365d',
    setHeaders: (response) => {
      response.setHeader('content-security-policy', CONSOLE_POLICY);
      response.setHeader('x-content-type-options', 'nosniff');
    },
  });
  fastify.get('/console', (_request, reply) => index(reply));
  fastify.get('/console/*', (request, reply) => {
    // A missing asset is a 404, not the page: a stale index.html asking for an old bundle must fail loudly.
    if (request.url.startsWith('/console/assets/')) {
      return reply.code(404).send({ error: `No console asset ${request.url}.`, code: ErrorCode.notFound });
    }
    return index(reply);
  });
}
