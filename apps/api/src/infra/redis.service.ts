import { createRedis } from '@ignite/service-kit';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { closeRedis } from './redis-close';
import { API_CONFIG } from './tokens';

type Listener = (message: string) => void;

/**
 * The API's Redis connections: one for commands (publish, streams' bookkeeping) and one in
 * subscriber mode shared by every follower of a channel, so a thousand log followers cost one
 * connection, not a thousand.
 */
@Injectable()
export class RedisService implements OnApplicationShutdown {
  readonly client: Redis;
  private readonly subscriber: Redis;
  private readonly channels = new Map<string, { listeners: Set<Listener>; ready: Promise<unknown> }>();

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    @InjectPinoLogger(RedisService.name) private readonly logger: PinoLogger,
  ) {
    // Commands fail after a few retries instead of queueing forever while Redis is down.
    this.client = createRedis(config.REDIS_URL, { maxRetriesPerRequest: 3, connectionName: 'ignite-api' });
    this.subscriber = createRedis(config.REDIS_URL, { connectionName: 'ignite-api-sub' });
    for (const [name, connection] of [
      ['commands', this.client],
      ['subscriber', this.subscriber],
    ] as const) {
      connection.on('error', (error: Error) => this.logger.warn({ connection: name, err: error.message }, 'redis connection error'));
    }
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.channels.get(channel)?.listeners ?? []) {
        try {
          listener(message);
        } catch (error) {
          this.logger.error({ channel, err: error }, 'channel listener failed');
        }
      }
    });
  }

  async publish(channel: string, message: unknown): Promise<void> {
    await this.client.publish(channel, JSON.stringify(message));
  }

  /** Listens on a channel; resolves once Redis confirms the subscription. Returns the way to stop. */
  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), ready: this.subscriber.subscribe(channel) };
      this.channels.set(channel, entry);
    }
    entry.listeners.add(listener);
    try {
      await entry.ready;
    } catch (error) {
      entry.listeners.delete(listener);
      if (this.channels.get(channel) === entry && entry.listeners.size === 0) this.channels.delete(channel);
      throw error;
    }
    return async () => {
      const current = this.channels.get(channel);
      if (!current?.listeners.delete(listener) || current.listeners.size > 0) return;
      this.channels.delete(channel);
      if (this.subscriber.status === 'ready') await this.subscriber.unsubscribe(channel).catch(() => undefined);
    };
  }

  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
      return reply === 'PONG';
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.channels.clear();
    await Promise.all([closeRedis(this.client), closeRedis(this.subscriber)]);
  }
}
