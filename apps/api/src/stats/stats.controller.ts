import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { type AuthContext, Caller } from '../auth/auth-context';
import { ApiErrors } from '../common/api-errors.decorator';
import { type FunctionStats, FunctionStatsDto, type FunctionTimeline, FunctionTimelineDto } from '../common/views';
import { StatsQueryDto, TimelineQueryDto } from './stats.dto';
import { StatsService } from './stats.service';

@ApiTags('invocations')
@ApiBearerAuth()
@ApiParam({ name: 'org', type: String, description: 'The org slug (the org of the API key)' })
@ApiParam({ name: 'app', type: String, description: 'The app name' })
@Controller('v1/orgs/:org/apps/:app/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get()
  @ApiOperation({
    summary: "The function's figures over a window: invocations, errors by cause, cold starts, durations, per release",
  })
  @ApiResponse({ status: 200, type: FunctionStatsDto })
  @ApiErrors(400)
  async get(@Caller() caller: AuthContext, @Param('app') app: string, @Query() query: StatsQueryDto): Promise<{ stats: FunctionStats }> {
    return { stats: await this.stats.of(caller, app, query.window) };
  }

  @Get('timeline')
  @ApiOperation({
    summary: "The function's invocations over a window in buckets of a step, for charts: all releases together, then each release",
  })
  @ApiResponse({ status: 200, type: FunctionTimelineDto })
  @ApiErrors(400)
  async timeline(
    @Caller() caller: AuthContext,
    @Param('app') app: string,
    @Query() query: TimelineQueryDto,
  ): Promise<{ timeline: FunctionTimeline }> {
    return { timeline: await this.stats.timeline(caller, app, query.window, query.step) };
  }
}
