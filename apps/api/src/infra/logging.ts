import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger } from '@ignite/service-kit';
import { RequestMethod } from '@nestjs/common';
import type { Params } from 'nestjs-pino';
import type { ApiConfig } from '../config';

/**
 * The invoke route has no request logger at all: no line per request (an invocation has its own
 * record, the data plane reports it), and no child logger either — pino-http makes one per
 * request with the request serialized into it, which cost more than forwarding the invocation.
 */
const INVOKE_ROUTES = [
  { method: RequestMethod.ALL, path: 'v1/orgs/:org/apps/:app/invoke' },
  { method: RequestMethod.ALL, path: 'v1/orgs/:org/apps/:app/invoke/*path' },
];

/** Request headers worth a log line; everything else (Authorization above all) stays out. */
const LOGGED_HEADERS = ['user-agent', 'content-type', 'content-length'];

/**
 * One line per request, fixed messages plus fields: the request id (Fastify's, from
 * x-request-id or generated), method, route, status and time. Secrets never reach the log: the
 * request serializer keeps a few harmless headers, and the logger redacts credentials anyway.
 */
export function loggerParams(config: ApiConfig): Params {
  return {
    exclude: INVOKE_ROUTES,
    pinoHttp: {
      logger: createLogger('api', config.LOG_LEVEL),
      quietReqLogger: true,
      customSuccessMessage: () => 'request completed',
      customErrorMessage: () => 'request failed',
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) => {
        if (error || res.statusCode >= 500) return 'error';
        if (res.statusCode >= 400) return 'warn';
        return 'info';
      },
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string; headers?: Record<string, unknown> }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
          remoteAddress: req.remoteAddress,
          headers: Object.fromEntries(
            LOGGED_HEADERS.flatMap((name) => (req.headers?.[name] === undefined ? [] : [[name, req.headers[name]]])),
          ),
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    },
  };
}
