import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

export const CreateApiKeySchema = z.strictObject(
  { name: z.string({ error: 'name is required' }).trim().min(1, 'name is required').max(100, 'name is at most 100 characters') },
  { error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'a JSON body is required' : undefined) },
);
export class CreateApiKeyDto extends createZodDto(CreateApiKeySchema) {}
