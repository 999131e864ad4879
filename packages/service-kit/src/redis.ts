import { Redis, type RedisOptions } from 'ioredis';

/**
 * A Redis connection for BullMQ: BullMQ's blocking commands need `maxRetriesPerRequest: null`.
 * The key prefix keeps tests and environments apart on one Redis.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...options });
}

/** The BullMQ key prefix of this environment (`IGNITE_QUEUE_PREFIX`, default `ignite`). */
export function queuePrefix(env: NodeJS.ProcessEnv = process.env): string {
  return env.IGNITE_QUEUE_PREFIX || 'ignite';
}
