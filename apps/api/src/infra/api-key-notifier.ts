import { type ApiKeyChanged, ApiKeyChangedSchema, channels } from '@ignite/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { RedisService } from './redis.service';
import { API_CONFIG } from './tokens';

/** Tells the data plane that a key was created or revoked: it drops what it cached for the key's hash. */
@Injectable()
export class ApiKeyNotifier {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly redis: RedisService,
    @InjectPinoLogger(ApiKeyNotifier.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * Publishes after the change is committed. A failed publish is logged, not thrown: the state is
   * in Postgres already, and the data plane's cache TTL bounds how long it may miss it.
   */
  async keyChanged(notice: ApiKeyChanged): Promise<void> {
    const message = ApiKeyChangedSchema.parse(notice);
    try {
      await this.redis.publish(channels.apiKeys(this.config.IGNITE_QUEUE_PREFIX), message);
    } catch (error) {
      this.logger.error({ change: notice.change, err: error }, 'api key notice not published');
    }
  }
}
