import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/api-errors.decorator';
import { type ApiKeyView, apiKeyView, WhoAmIDto } from '../common/views';
import { ApiKeysService } from './api-keys.service';
import { type AuthContext, Caller } from './auth-context';

@ApiTags('keys')
@ApiBearerAuth()
@Controller('v1/whoami')
export class WhoAmIController {
  constructor(private readonly keys: ApiKeysService) {}

  @Get()
  @ApiOperation({ summary: "The org and key of the caller's API key (what a console shows after sign-in)" })
  @ApiResponse({ status: 200, type: WhoAmIDto })
  @ApiErrors()
  async get(@Caller() caller: AuthContext): Promise<{ org: string; key: ApiKeyView }> {
    return { org: caller.org, key: apiKeyView(await this.keys.caller(caller)) };
  }
}
