import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { ReleaseEnvelopeDto, ReleaseListDto, type ReleaseView } from '../common/views';
import { PublishDto } from './releases.dto';
import { ReleasesService } from './releases.service';

@ApiTags('releases')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app/releases')
export class ReleasesController {
  constructor(private readonly releases: ReleasesService) {}

  @Post()
  @ApiOperation({
    summary: 'Publish a build as the next release and activate it',
    description: 'The build must have succeeded and be of the current draft revision. The body is optional.',
  })
  @ApiBody({ type: PublishDto, required: false })
  @ApiResponse({ status: 201, type: ReleaseEnvelopeDto })
  @ApiErrors(400, 409)
  async publish(@Caller() caller: AuthContext, @Param('app') app: string, @Body() body: PublishDto): Promise<{ release: ReleaseView }> {
    return { release: await this.releases.publish(caller, app, body?.buildId) };
  }

  @Get()
  @ApiOperation({ summary: 'Releases, newest first' })
  @ApiResponse({ status: 200, type: ReleaseListDto })
  @ApiErrors()
  async list(@Caller() caller: AuthContext, @Param('app') app: string): Promise<{ releases: ReleaseView[] }> {
    return { releases: await this.releases.list(caller, app) };
  }

  @Post(':number/activate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Make a release the active one (rollback or forward)' })
  @ApiParam({ name: 'number', type: Number })
  @ApiResponse({ status: 200, type: ReleaseEnvelopeDto })
  @ApiErrors()
  async activate(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Param('number') number: string,
  ): Promise<{ release: ReleaseView }> {
    return { release: await this.releases.activate(caller, app, number) };
  }
}
