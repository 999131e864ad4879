import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

export class ListBuildsQueryDto extends createZodDto(
  z.object({ limit: z.coerce.number().int().min(1).max(200).default(50).describe('How many builds, most recent first') }),
) {}

export class LogsQueryDto extends createZodDto(
  z.object({
    follow: z.stringbool().default(false).describe('Keep the response open and stream lines until the build finishes'),
  }),
) {}
