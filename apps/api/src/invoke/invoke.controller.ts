import { All, Controller, Param, type RawBodyRequest, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { InvokeService } from './invoke.service';

@ApiTags('invoke')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app')
export class InvokeController {
  constructor(private readonly invoker: InvokeService) {}

  // Not the API key guard's: the data plane checks the key (or the app's public access) from its caches, as for its own callers.
  @Public()
  @All(['invoke', 'invoke/*'])
  @ApiOperation({
    summary: "Invoke the app's active release",
    description:
      "Any method. The same route as the data plane's (the runner's direct port, the fast path: prefer it), where this request is forwarded: the path after /invoke, the query, the headers (but an Ignite API key) and the body go to the function; the function's status, headers (x-ignite-execution-id, x-ignite-cold, x-ignite-release, x-ignite-duration-ms) and body come back unchanged. An app with auth `key` takes an API key of its org; one with auth `public` takes anyone.",
  })
  @ApiResponse({ status: 200, description: "The function's answer" })
  @ApiErrors(413, 429, 502, 503)
  async invoke(
    @Param('org') org: string,
    @Param('app') app: string,
    @Req() request: RawBodyRequest<FastifyRequest>,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.invoker.invoke(org, app, request, reply);
  }
}
