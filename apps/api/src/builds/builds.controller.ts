import type { Readable } from 'node:stream';
import { Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { BuildEnvelopeDto, BuildListDto, type BuildView } from '../common/views';
import { ListBuildsQueryDto, LogsQueryDto } from './builds.dto';
import { BuildsService } from './builds.service';

/** Streams a build log as text, ending when the stream does (with follow: when the build ends). */
async function sendLog(reply: FastifyReply, stream: Readable): Promise<void> {
  reply.raw.once('close', () => stream.destroy());
  // Fastify writes the headers with the first chunk; a follower may wait long for one, so send them now.
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  await reply
    .header('content-type', 'text/plain; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('x-accel-buffering', 'no')
    .send(stream);
}

@ApiTags('builds')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app/builds')
export class BuildsController {
  constructor(private readonly builds: BuildsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Compile the current draft',
    description: 'Queues a build of the current draft revision, or returns the one already queued or running for it.',
  })
  @ApiResponse({ status: 202, type: BuildEnvelopeDto })
  @ApiErrors(409, 429, 503)
  async compile(@Caller() caller: AuthContext, @Param('app') app: string): Promise<{ build: BuildView }> {
    const { build } = await this.builds.compile(caller, app);
    return { build };
  }

  @Get()
  @ApiOperation({ summary: 'Recent builds, most recent first' })
  @ApiResponse({ status: 200, type: BuildListDto })
  @ApiErrors(400)
  async list(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Query() query: ListBuildsQueryDto,
  ): Promise<{ builds: BuildView[] }> {
    return { builds: await this.builds.list(caller, app, query.limit) };
  }

  @Get(':buildId')
  @ApiOperation({ summary: 'A build: status, timings, diagnostics, artifact' })
  @ApiParam({ name: 'buildId', format: 'uuid' })
  @ApiResponse({ status: 200, type: BuildEnvelopeDto })
  @ApiErrors()
  async get(@Caller() caller: AuthContext, @Param('app') app: string, @Param('buildId') buildId: string): Promise<{ build: BuildView }> {
    return { build: await this.builds.get(caller, app, buildId) };
  }

  @Get(':buildId/logs')
  @ApiOperation({ summary: "The build's log as text; with follow=true, streamed until the build finishes" })
  @ApiParam({ name: 'buildId', format: 'uuid' })
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'One line per log line', schema: { type: 'string' } })
  @ApiErrors(400)
  async logs(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Param('buildId') buildId: string,
    @Query() query: LogsQueryDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await sendLog(reply, await this.builds.openLogs(caller, app, buildId, query.follow));
  }

  @Post(':buildId/cancel')
  @ApiOperation({
    summary: 'Cancel a build',
    description: 'A queued build is canceled at once (200); a running one is stopped by its worker (202, it becomes canceled shortly).',
  })
  @ApiParam({ name: 'buildId', format: 'uuid' })
  @ApiResponse({ status: 200, type: BuildEnvelopeDto, description: 'Canceled' })
  @ApiResponse({ status: 202, type: BuildEnvelopeDto, description: 'Cancellation requested' })
  @ApiErrors(409)
  async cancel(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Param('buildId') buildId: string,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const { build, outcome } = await this.builds.cancel(caller, app, buildId);
    await reply.status(outcome === 'canceled' ? 200 : 202).send({ build });
  }
}

/** Builds named by id alone, within the org: what `builds logs BUILD_ID` uses. */
@ApiTags('builds')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@Controller('v1/orgs/:org/builds')
export class OrgBuildsController {
  constructor(private readonly builds: BuildsService) {}

  @Get(':buildId')
  @ApiOperation({ summary: 'A build of any app of the org, by id' })
  @ApiParam({ name: 'buildId', format: 'uuid' })
  @ApiResponse({ status: 200, type: BuildEnvelopeDto })
  @ApiErrors()
  async get(@Caller() caller: AuthContext, @Param('buildId') buildId: string): Promise<{ build: BuildView }> {
    return { build: await this.builds.getInOrg(caller, buildId) };
  }

  @Get(':buildId/logs')
  @ApiOperation({ summary: "A build's log by build id; with follow=true, streamed until the build finishes" })
  @ApiParam({ name: 'buildId', format: 'uuid' })
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'One line per log line', schema: { type: 'string' } })
  @ApiErrors(400)
  async logs(
    @Caller() caller: AuthContext,
    @Param('buildId') buildId: string,
    @Query() query: LogsQueryDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await sendLog(reply, await this.builds.openLogsInOrg(caller, buildId, query.follow));
  }
}
