import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

/** The body is optional: no body (or `{}`) publishes the latest build of the current draft revision. */
export class PublishDto extends createZodDto(
  z.preprocess(
    (body) => body ?? {},
    z.strictObject(
      {
        buildId: z
          .uuid({ error: 'buildId must be a build id (a uuid)' })
          .optional()
          .describe('The build to publish (default: the latest build of the current draft revision)'),
      },
      { error: (issue) => (issue.code === 'invalid_type' ? 'the body must be a JSON object (or absent)' : undefined) },
    ),
  ),
) {}
