import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { AppDetailEnvelopeDto, type AppDetailView, AppEnvelopeDto, AppListDto, type AppView } from '../common/views';
import { CreateAppDto, PatchEnvDto, UpdateAppDto } from './apps.dto';
import { AppsService } from './apps.service';

@ApiTags('apps')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@Controller('v1/orgs/:org/apps')
export class AppsController {
  constructor(private readonly apps: AppsService) {}

  @Post()
  @ApiOperation({ summary: 'Create an app' })
  @ApiResponse({ status: 201, type: AppEnvelopeDto })
  @ApiErrors(400, 409, 422)
  async create(@Caller() caller: AuthContext, @Body() body: CreateAppDto): Promise<{ app: AppView }> {
    return { app: await this.apps.create(caller, body) };
  }

  @Get()
  @ApiOperation({ summary: 'List the apps of the org' })
  @ApiResponse({ status: 200, type: AppListDto })
  @ApiErrors()
  async list(@Caller() caller: AuthContext): Promise<{ apps: AppView[] }> {
    return { apps: await this.apps.list(caller) };
  }

  @Get(':app')
  @ApiOperation({ summary: 'An app with its draft, latest build and active release' })
  @ApiParam({ name: 'app', type: String, description: 'The app name' })
  @ApiResponse({ status: 200, type: AppDetailEnvelopeDto })
  @ApiErrors()
  async get(@Caller() caller: AuthContext, @Param('app') app: string): Promise<{ app: AppDetailView }> {
    return { app: await this.apps.get(caller, app) };
  }

  @Patch(':app')
  @ApiOperation({ summary: 'Change who may invoke the app (auth: key | public) and its rate and concurrency limits' })
  @ApiParam({ name: 'app', type: String, description: 'The app name' })
  @ApiResponse({ status: 200, type: AppEnvelopeDto })
  @ApiErrors(400)
  async update(@Caller() caller: AuthContext, @Param('app') app: string, @Body() body: UpdateAppDto): Promise<{ app: AppView }> {
    return { app: await this.apps.update(caller, app, body) };
  }

  @Patch(':app/env')
  @ApiOperation({ summary: "Set and unset the app's environment variables" })
  @ApiParam({ name: 'app', type: String, description: 'The app name' })
  @ApiResponse({ status: 200, type: AppEnvelopeDto })
  @ApiErrors(400)
  async patchEnv(@Caller() caller: AuthContext, @Param('app') app: string, @Body() body: PatchEnvDto): Promise<{ app: AppView }> {
    return { app: await this.apps.patchEnv(caller, app, body) };
  }

  @Delete(':app')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an app with its draft, builds, releases and invocations' })
  @ApiParam({ name: 'app', type: String, description: 'The app name' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors()
  async delete(@Caller() caller: AuthContext, @Param('app') app: string): Promise<void> {
    await this.apps.delete(caller, app);
  }
}
