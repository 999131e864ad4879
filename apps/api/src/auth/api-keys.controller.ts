import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { type ApiKeyCreated, ApiKeyCreatedDto, ApiKeyListDto, type ApiKeyView, apiKeyView } from '../common/views';
import { CreateApiKeyDto } from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';
import { type AuthContext, Caller } from './auth-context';

@ApiTags('keys')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@Controller('v1/orgs/:org/keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key of the org (its secret is in this answer only)' })
  @ApiResponse({ status: 201, type: ApiKeyCreatedDto })
  @ApiErrors(400)
  async create(@Caller() caller: AuthContext, @Body() body: CreateApiKeyDto): Promise<ApiKeyCreated> {
    const { key, secret } = await this.keys.issue(caller.orgId, body.name);
    return { key: apiKeyView(key), secret };
  }

  @Get()
  @ApiOperation({ summary: 'List the keys of the org, revoked ones included' })
  @ApiResponse({ status: 200, type: ApiKeyListDto })
  @ApiErrors()
  async list(@Caller() caller: AuthContext): Promise<{ keys: ApiKeyView[] }> {
    return { keys: (await this.keys.list(caller.orgId)).map(apiKeyView) };
  }

  @Delete(':key')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a key: refused everywhere from now on (the data plane hears of it at once)' })
  @ApiParam({ name: 'key', type: String, description: 'The key id' })
  @ApiResponse({ status: 204, description: 'Revoked' })
  @ApiErrors()
  async revoke(@Caller() caller: AuthContext, @Param('key') key: string): Promise<void> {
    await this.keys.revoke(caller.orgId, key);
  }
}
