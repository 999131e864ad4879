import { ErrorCode } from '@ignite/contracts';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { Public } from '../auth/auth-context';
import { ErrorDto } from '../common/api-errors.decorator';
import { MetricsService } from '../infra/metrics.service';
import { RedisService } from '../infra/redis.service';
import { HealthRepository } from './health.repository';

const CHECK_TIMEOUT_MS = 2_000;

class HealthDto extends createZodDto(z.object({ status: z.literal('ok') })) {}
class ReadyDto extends createZodDto(
  z.object({ status: z.literal('ready'), checks: z.object({ postgres: z.literal('ok'), redis: z.literal('ok') }) }),
) {}

@ApiTags('operations')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly database: HealthRepository,
    private readonly redis: RedisService,
    private readonly metrics: MetricsService,
  ) {}

  @Get('healthz')
  @ApiOperation({ summary: 'The process is up' })
  @ApiResponse({ status: 200, type: HealthDto })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Postgres and Redis are reachable' })
  @ApiResponse({ status: 200, type: ReadyDto })
  @ApiResponse({ status: 503, type: ErrorDto, description: 'A dependency is unreachable' })
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const [postgres, redis] = await Promise.all([this.database.ping(CHECK_TIMEOUT_MS), this.redis.ping(CHECK_TIMEOUT_MS)]);
    const checks = { postgres: postgres ? 'ok' : 'unreachable', redis: redis ? 'ok' : 'unreachable' };
    if (postgres && redis) {
      await reply.status(200).send({ status: 'ready', checks });
      return;
    }
    const down = Object.entries(checks)
      .filter(([, state]) => state !== 'ok')
      .map(([name]) => name);
    await reply.status(503).send({ error: `not ready: ${down.join(' and ')} unreachable`, code: ErrorCode.unavailable, checks });
  }

  @Get('metrics')
  @ApiOperation({ summary: 'Prometheus metrics' })
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'Prometheus text exposition format', schema: { type: 'string' } })
  async metricsText(@Res() reply: FastifyReply): Promise<void> {
    const text = await this.metrics.registry.metrics();
    await reply.header('content-type', this.metrics.registry.contentType).send(text);
  }
}
