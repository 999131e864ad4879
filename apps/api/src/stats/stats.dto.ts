import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

export class StatsQueryDto extends createZodDto(
  z.object({
    window: z
      .string()
      .regex(/^\d+(s|m|h|d)$/, 'window must be a duration: 90s, 10m, 1h, 7d')
      .default('1h')
      .describe('How far back from now: `15m`, `1h`, `7d`'),
  }),
) {}
