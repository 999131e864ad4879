import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { InvocationDetailEnvelopeDto, type InvocationDetailView, InvocationListDto, type InvocationView } from '../common/views';
import { InvocationsService } from './invocations.service';

export class ListInvocationsQueryDto extends createZodDto(
  z.object({ limit: z.coerce.number().int().min(1).max(500).default(50).describe('How many invocations, most recent first') }),
) {}

@ApiTags('invocations')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app/invocations')
export class InvocationsController {
  constructor(private readonly invocations: InvocationsService) {}

  @Get()
  @ApiOperation({ summary: 'Recent invocations, most recent first' })
  @ApiResponse({ status: 200, type: InvocationListDto })
  @ApiErrors(400)
  async list(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Query() query: ListInvocationsQueryDto,
  ): Promise<{ invocations: InvocationView[] }> {
    return { invocations: await this.invocations.recent(caller, app, query.limit) };
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
