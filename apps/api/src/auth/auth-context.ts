import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/** Who is calling: the org of the request's API key (always the org in the path). */
export interface AuthContext {
  keyId: string;
  orgId: string;
  org: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    auth?: AuthContext;
  }
}

export const IS_PUBLIC = 'ignite:public';

/** Routes that need no API key (health, metrics). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The caller's org, as the ApiKeyGuard established it. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): AuthContext => {
  const auth = context.switchToHttp().getRequest<FastifyRequest>().auth;
  if (!auth) throw new Error('Caller used on a route without the ApiKeyGuard');
  return auth;
});
