import { All, Controller, Param, type RawBodyRequest, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { InvokeService } from './invoke.service';

@ApiTags('invoke')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app')
export class InvokeController {
  constructor(private readonly invoker: InvokeService) {}

  @All(['invoke', 'invoke/*'])
  @ApiOperation({
    summary: "Invoke the app's active release",
    description:
      "Any method. The path after /invoke, the query, the headers (but Authorization) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged.",
  })
  @ApiResponse({ status: 200, description: "The function's answer" })
  @ApiErrors(413, 502, 503)
  async invoke(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Req() request: RawBodyRequest<FastifyRequest>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.invoker.invoke(caller, app, request, reply);
  }
}
