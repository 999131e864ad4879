import { BuildTokenError, type BuildTokenScope, isValidBuildId, verifyBuildToken } from '@ignite/build-tokens';
import { type CanActivate, type ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { INTERNAL_BUILDS_CONFIG, type InternalBuildsConfig } from './internal-builds.config';
import { InternalBuildsError } from './internal-errors';

const BUILD_TOKEN_SCOPE = 'ignite:build-token-scope';

/** The operation a route performs; the guard requires a token for the path's build and this scope. */
export const RequiresBuildToken = (scope: BuildTokenScope) => SetMetadata(BUILD_TOKEN_SCOPE, scope);

/**
 * `Authorization: Bearer <build token>` for the `:buildId` of the path and the route's scope.
 * 401: no token, a forged one, an expired one. 403: a genuine token for another build or operation.
 */
@Injectable()
export class BuildTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(INTERNAL_BUILDS_CONFIG) private readonly config: InternalBuildsConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const scope = this.reflector.get<BuildTokenScope | undefined>(BUILD_TOKEN_SCOPE, context.getHandler());
    if (!scope) throw new Error('BuildTokenGuard on a route without @RequiresBuildToken');
    const key = this.config.tokenKey;
    if (!key) {
      throw new InternalBuildsError(
        'unavailable',
        'the internal build endpoints are disabled: IGNITE_BUILD_TOKEN_KEY is not set on the API',
      );
    }
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const buildId = (request.params as Record<string, string | undefined>).buildId ?? '';
    if (!isValidBuildId(buildId)) throw new InternalBuildsError('validation_failed', `not a build id: ${JSON.stringify(buildId)}`);

    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new InternalBuildsError('unauthorized', 'missing build token: send "Authorization: Bearer <token>"');
    try {
      verifyBuildToken(match[1]!, { buildId, scope }, key, { clockToleranceSeconds: this.config.clockToleranceSeconds });
    } catch (error) {
      if (!(error instanceof BuildTokenError)) throw error;
      throw new InternalBuildsError(error.forbidden ? 'forbidden' : 'unauthorized', error.message);
    }
    return true;
  }
}
