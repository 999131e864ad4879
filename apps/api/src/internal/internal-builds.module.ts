import { BUILD_ARTIFACT_MEDIA_TYPE } from '@ignite/build-tokens';
import { type DynamicModule, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { BuildTokenGuard } from './build-token.guard';
import { INTERNAL_BUILDS_CONFIG, type InternalBuildsConfig, internalBuildsConfigFromEnv } from './internal-builds.config';
import { InternalBuildsController } from './internal-builds.controller';
import { InternalBuildsService } from './internal-builds.service';

/**
 * The internal build endpoints of the kubernetes executor, self-contained: a config (data directory,
 * token key, upload limit) and the token verifier, nothing else of the API.
 *
 *   imports: [InternalBuildsModule.fromEnv()]          // IGNITE_DATA_DIR, IGNITE_BUILD_TOKEN_KEY, IGNITE_MAX_ARTIFACT_BYTES
 *   imports: [InternalBuildsModule.forRoot(config)]    // explicit (tests)
 *
 * Artifact uploads are streamed to disk: at init the module registers, on the Fastify instance, a
 * content-type parser for `application/vnd.ignite.build-artifact` that leaves the body unread.
 */
@Module({})
export class InternalBuildsModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  static forRoot(config: InternalBuildsConfig): DynamicModule {
    return {
      module: InternalBuildsModule,
      controllers: [InternalBuildsController],
      providers: [{ provide: INTERNAL_BUILDS_CONFIG, useValue: config }, InternalBuildsService, BuildTokenGuard],
    };
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env): DynamicModule {
    return InternalBuildsModule.forRoot(internalBuildsConfigFromEnv(env));
  }

  onModuleInit(): void {
    const instance = this.adapterHost.httpAdapter?.getInstance?.() as FastifyInstance | undefined;
    if (!instance || typeof instance.addContentTypeParser !== 'function') {
      throw new Error('InternalBuildsModule needs the Fastify adapter (@nestjs/platform-fastify)');
    }
    if (!instance.hasContentTypeParser(BUILD_ARTIFACT_MEDIA_TYPE)) {
      // Leave the stream to the route: it is written to disk as it arrives, with its own size limit.
      instance.addContentTypeParser(BUILD_ARTIFACT_MEDIA_TYPE, (_request, _payload, done) => done(null, undefined));
    }
  }
}
