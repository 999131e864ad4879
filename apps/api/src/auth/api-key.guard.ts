import { ErrorCode, invokeErrors } from '@ignite/contracts';
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { appNotFound, DomainError, orgNotFound } from '../common/domain-error';
import { bearerToken } from './api-key';
import { ApiKeysService } from './api-keys.service';
import { IS_PUBLIC } from './auth-context';

/**
 * Every route needs `Authorization: Bearer <key>` unless marked @Public. A key sees only its own
 * org: any other org's path answers exactly as a missing app (or org) would, never 403.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const token = bearerToken(request.headers.authorization);
    // The data plane's words (invokeErrors): every route of the platform refuses a key alike.
    if (!token) throw new DomainError(ErrorCode.unauthorized, invokeErrors.missingKey);
    const owner = await this.keys.verify(token);
    if (!owner) throw new DomainError(ErrorCode.unauthorized, invokeErrors.invalidKey);
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const org = params.org;
    if (org !== undefined && org !== owner.orgSlug) {
      throw params.app !== undefined ? appNotFound(org, params.app) : orgNotFound(org);
    }
    request.auth = { keyId: owner.keyId, orgId: owner.orgId, org: owner.orgSlug };
    return true;
  }
}
