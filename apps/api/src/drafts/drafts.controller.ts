import { Controller, Get, Param, Put, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { DraftDto, type DraftSaved, DraftSavedDto, type DraftView } from '../common/views';
import { DraftsService, RAW_ARCHIVE_TYPES } from './drafts.service';

@ApiTags('drafts')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app/draft')
export class DraftsController {
  constructor(private readonly drafts: DraftsService) {}

  @Put()
  @ApiOperation({
    summary: "Save the app's source archive as its draft",
    description:
      'The body is the archive (tar.gz or zip, Cargo.toml at its root or in its single top-level folder), raw or as multipart/form-data with one file field named `archive`. Each save bumps the revision.',
  })
  @ApiConsumes(...Object.keys(RAW_ARCHIVE_TYPES), 'multipart/form-data')
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiResponse({ status: 200, type: DraftSavedDto })
  @ApiErrors(400, 413, 422)
  async save(@Caller() caller: AuthContext, @Param('app') app: string, @Req() request: FastifyRequest): Promise<DraftSaved> {
    return this.drafts.save(caller, app, request);
  }

  @Get()
  @ApiOperation({ summary: "The draft's metadata" })
  @ApiResponse({ status: 200, type: DraftDto })
  @ApiErrors()
  async get(@Caller() caller: AuthContext, @Param('app') app: string): Promise<{ draft: DraftView }> {
    return { draft: await this.drafts.get(caller, app) };
  }

  @Get('archive')
  @ApiOperation({ summary: "Download the draft's archive" })
  @ApiProduces('application/gzip', 'application/zip')
  @ApiResponse({ status: 200, description: 'The archive bytes', schema: { type: 'string', format: 'binary' } })
  @ApiErrors()
  async download(@Caller() caller: AuthContext, @Param('app') app: string, @Res() reply: FastifyReply): Promise<void> {
    const archive = await this.drafts.open(caller, app);
    await reply
      .header('content-type', archive.mediaType)
      .header('content-length', String(archive.size))
      .header('content-disposition', `attachment; filename="${archive.filename}"`)
      .send(archive.stream);
  }
}
