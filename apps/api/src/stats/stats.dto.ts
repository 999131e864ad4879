import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

const duration = (name: string) => z.string().regex(/^\d+(s|m|h|d)$/, `${name} must be a duration: 90s, 10m, 1h, 7d`);

const window = duration('window').default('1h').describe('How far back from now: `15m`, `1h`, `7d`');

export class StatsQueryDto extends createZodDto(z.object({ window })) {}

export class TimelineQueryDto extends createZodDto(
  z.object({
    window,
    step: duration('step')
      .optional()
      .describe(
        'The length of a bucket: `1s` or more, at most 1,500 buckets to the window. Without it, the shortest of 1s, 5s, 10s, 15s, 30s, 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 6h, 12h, 1d that gives at most 100 buckets (1h: 1m, 1d: 15m, 7d: 2h), or whole days beyond',
      ),
  }),
) {}
