import { BUILD_ARTIFACT_MEDIA_TYPE, BUILD_ARTIFACT_SHA256_HEADER } from '@ignite/build-tokens';
import { Controller, Get, Param, Put, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/auth-context';
import { BuildTokenGuard, RequiresBuildToken } from './build-token.guard';
import { InternalBuildsService } from './internal-builds.service';
import { InternalBuildsError, InternalBuildsExceptionFilter } from './internal-errors';

/**
 * The build pods' side door: `GET .../context` and `PUT .../artifact`, each authorized by a build
 * token for that build and that operation (not an API key: @Public opts out of the API key guard,
 * BuildTokenGuard does the checking). Left out of the public OpenAPI document.
 */
@ApiExcludeController()
@Public()
@UseGuards(BuildTokenGuard)
@UseFilters(InternalBuildsExceptionFilter)
@Controller('internal/v1/builds/:buildId')
export class InternalBuildsController {
  constructor(private readonly builds: InternalBuildsService) {}

  @Get('context')
  @RequiresBuildToken('context:read')
  async context(@Param('buildId') buildId: string, @Res() reply: FastifyReply): Promise<void> {
    const context = await this.builds.openContext(buildId);
    await reply
      .header('content-type', 'application/gzip')
      .header('content-length', String(context.size))
      .header('cache-control', 'no-store')
      .send(context.stream);
  }

  @Put('artifact')
  @RequiresBuildToken('artifact:write')
  async artifact(@Param('buildId') buildId: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const mediaType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
    if (mediaType !== BUILD_ARTIFACT_MEDIA_TYPE) {
      throw new InternalBuildsError(
        'validation_failed',
        `send the artifact as ${BUILD_ARTIFACT_MEDIA_TYPE}, not ${JSON.stringify(request.headers['content-type'] ?? '(none)')}`,
        true,
      );
    }
    const length = Number(request.headers['content-length']);
    const sha256 = request.headers[BUILD_ARTIFACT_SHA256_HEADER];
    const stored = await this.builds.storeArtifact(buildId, request.raw, {
      sha256: typeof sha256 === 'string' ? sha256 : undefined,
      length: Number.isFinite(length) ? length : undefined,
    });
    await reply.status(201).send({ buildId, size: stored.size, sha256: stored.sha256 });
  }
}
