import { z } from 'zod';

/** Building blocks for the apps' configuration schemas. */

export const databaseUrl = z
  .string()
  .default('postgresql://postgres@127.0.0.1:5432/ignite')
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgresql:// URL');

export const redisUrl = z
  .string()
  .default('redis://127.0.0.1:6379')
  .refine((value) => /^rediss?:\/\//.test(value), 'must be a redis:// or rediss:// URL');

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

export const dataDir = z.string().min(1).default('.data');
