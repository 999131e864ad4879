import type { Readable } from 'node:stream';
import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { FunctionLogPageSchema } from '../common/views';
import { FollowLogsQueryDto, LogsQueryDto } from './logs.dto';
import { LogsService } from './logs.service';

class FunctionLogPageDto extends createZodDto(FunctionLogPageSchema) {}

/** Streams Server-Sent Events until the client goes away. */
async function sendEvents(reply: FastifyReply, stream: Readable): Promise<void> {
  reply.raw.once('close', () => stream.destroy());
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  await reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache')
    .header('x-accel-buffering', 'no')
    .send(stream);
}

@ApiTags('logs')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app/logs')
export class LogsController {
  constructor(private readonly logs: LogsService) {}

  @Get()
  @ApiOperation({
    summary: "The function's log lines, oldest first",
    description:
      "What its instances wrote to stderr (`eprintln!`; `println!` through the SDK), each line with the invocation it belongs to where that is known, and the platform's lines about its instances. Without `cursor` or `since`: the most recent lines. Page on with the answer's `cursor`.",
  })
  @ApiResponse({ status: 200, type: FunctionLogPageDto })
  @ApiErrors(400)
  page(@Caller() caller: AuthContext, @Param('app') app: string, @Query() query: LogsQueryDto) {
    return this.logs.page(caller, app, query);
  }

  @Get('follow')
  @ApiOperation({
    summary: 'Follow the log live (Server-Sent Events)',
    description:
      'Each new line as an `event: line` whose `data` is a FunctionLogLine and whose `id` is its cursor (reconnecting with Last-Event-ID misses nothing); a comment every 15 s while quiet. The same filters as the log.',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'An event stream', schema: { type: 'string' } })
  @ApiErrors(400)
  async follow(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Query() query: FollowLogsQueryDto,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await sendEvents(reply, await this.logs.follow(caller, app, query, lastEventId));
  }
}
