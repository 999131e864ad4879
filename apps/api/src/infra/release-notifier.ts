import { channels, type ReleaseActivated, ReleaseActivatedSchema } from '@ignite/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import type { ApiConfig } from '../config';
import { RedisService } from './redis.service';
import { API_CONFIG } from './tokens';

/** Tells runners that an app's active release (or what it runs with) changed: they drop caches and drain. */
@Injectable()
export class ReleaseNotifier {
  constructor(
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    private readonly redis: RedisService,
    @InjectPinoLogger(ReleaseNotifier.name) private readonly logger: PinoLogger,
  ) {}

  /**
   * Publishes after the change is committed. A failed publish is logged, not thrown: the state is
   * in Postgres already, and runners check it when they load an app.
   */
  async releaseActivated(notice: ReleaseActivated): Promise<void> {
    const message = ReleaseActivatedSchema.parse(notice);
    try {
      await this.redis.publish(channels.releases(this.config.IGNITE_QUEUE_PREFIX), message);
    } catch (error) {
      this.logger.error({ appId: notice.appId, releaseId: notice.releaseId, err: error }, 'release notice not published');
    }
  }
}
