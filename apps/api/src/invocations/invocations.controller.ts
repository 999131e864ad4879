import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { InvocationDetailEnvelopeDto, type InvocationDetailView, InvocationListDto, type InvocationView } from '../common/views';
import { INVOCATION_STATUSES, InvocationsService } from './invocations.service';

export class ListInvocationsQueryDto extends createZodDto(
  z.object({
    limit: z.coerce.number().int().min(1).max(500).default(50).describe('How many invocations, most recent first'),
    status: z
      .enum(INVOCATION_STATUSES, { error: 'status must be one of ok (answered below 400), error (5xx), client (4xx)' })
      .optional()
      .describe('Only these: `ok` (statusCode < 400), `error` (5xx: the function or the platform failed), `client` (4xx)'),
    release: z.coerce
      .number({ error: 'release must be a release number (1, 2, ...)' })
      .int('release must be a release number (1, 2, ...)')
      .min(1, 'release must be a release number (1, 2, ...)')
      .optional()
      .describe('Only the invocations of this release number'),
    cold: z
      .enum(['true', 'false'], { error: 'cold must be true (only cold starts) or false (only warm instances)' })
      .optional()
      .describe('`true`: only cold starts; `false`: only invocations a warm instance answered'),
    before: z.iso
      .datetime({ offset: true, error: 'before must be an ISO 8601 time with its zone, such as 2026-12-07T10:00:00Z' })
      .optional()
      .describe('Only invocations created before this time: the `createdAt` of the last one of a page, for the next page'),
  }),
) {}

@ApiTags('invocations')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app/invocations')
export class InvocationsController {
  constructor(private readonly invocations: InvocationsService) {}

  @Get()
  @ApiOperation({ summary: 'Recent invocations, most recent first: by status, release, cold start, and before a time (to page)' })
  @ApiResponse({ status: 200, type: InvocationListDto })
  @ApiErrors(400)
  async list(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Query() query: ListInvocationsQueryDto,
  ): Promise<{ invocations: InvocationView[] }> {
    return { invocations: await this.invocations.recent(caller, app, query) };
  }

  @Get(':executionId')
  @ApiOperation({ summary: 'One invocation, with its log lines' })
  @ApiParam({ name: 'executionId', type: String, description: "The invocation's execution id (x-ignite-execution-id)" })
  @ApiResponse({ status: 200, type: InvocationDetailEnvelopeDto })
  @ApiErrors()
  async get(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Param('executionId') executionId: string,
  ): Promise<{ invocation: InvocationDetailView }> {
    return { invocation: await this.invocations.get(caller, app, executionId) };
  }
}
