import type { z } from 'zod';

/** Each value checked against `schema`: the valid ones as parsed, the issues of the others (nothing is thrown). */
export function validateEach<T extends z.ZodType>(
  schema: T,
  values: Iterable<unknown>,
): { valid: z.output<T>[]; invalid: z.core.$ZodIssue[][] } {
  const valid: z.output<T>[] = [];
  const invalid: z.core.$ZodIssue[][] = [];
  for (const value of values) {
    const result = schema.safeParse(value);
    if (result.success) valid.push(result.data);
    else invalid.push(result.error.issues);
  }
  return { valid, invalid };
}
