import { randomBytes } from 'node:crypto';

/**
 * Tests run under `npm test`, which points DATABASE_URL and REDIS_URL at the test database and
 * the test Redis db, never at development data.
 */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`, which provisions the test database');
  return url;
}

export function testRedisUrl(): string {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('REDIS_URL is not set: run the tests with `npm test`, which provisions the test Redis');
  return url;
}

/** A name no other test (or earlier run) uses: tests share one database and stay independent. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
