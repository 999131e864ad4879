import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { pointInTime } from './time-window';

const when = (name: string) =>
  z
    .string()
    .refine((text) => pointInTime(text) !== undefined, {
      message: `${name} must be an ISO 8601 time (2026-12-07T10:00:00Z) or a duration back from now (90s, 10m, 2h, 7d)`,
    })
    .describe('An ISO 8601 time, or a duration back from now: `90s`, `10m`, `2h`, `7d`');

const filters = {
  since: when('since').optional(),
  until: when('until').optional(),
  execution: z.string().min(1).max(256).optional().describe('Only the lines of this invocation (its execution id)'),
  release: z.coerce.number().int().min(1).optional().describe('Only the lines of this release number'),
  contains: z.string().min(1).max(200).optional().describe('Only lines containing this text (case-insensitive)'),
};

export class LogsQueryDto extends createZodDto(
  z.object({
    ...filters,
    limit: z.coerce.number().int().min(1).max(1_000).default(100).describe('How many lines at most'),
    cursor: z
      .string()
      .regex(/^\d{1,19}$/, 'cursor must be the id of a line (the `cursor` of an earlier answer)')
      .optional()
      .describe('The lines after this one (the `cursor` of an earlier answer). Without it and without `since`: the most recent lines'),
  }),
) {}

export class FollowLogsQueryDto extends createZodDto(
  z.object({
    ...filters,
    cursor: z
      .string()
      .regex(/^\d{1,19}$/, 'cursor must be the id of a line (the `cursor` of an earlier answer)')
      .optional()
      .describe('Start after this line (also read from Last-Event-ID); without it, with the lines stored from now on'),
  }),
) {}
