import { FilesystemBlobStore } from '@ignite/blob-store';
import { createPrismaClient, PrismaClient } from '@ignite/database';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { BlobCollector } from '../blobs/blob-collector.service';
import { BlobsRepository } from '../blobs/blobs.repository';
import { type ApiConfig, blobsDir } from '../config';
import { ApiKeyNotifier } from './api-key-notifier';
import { DatabaseLifecycle } from './database';
import { MetricsService } from './metrics.service';
import { RedisService } from './redis.service';
import { ReleaseNotifier } from './release-notifier';
import { API_CONFIG, BLOB_STORE } from './tokens';

/** What every feature uses: configuration, Postgres, Redis, the blob store, metrics. */
@Global()
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static factory
export class InfraModule {
  static forRoot(config: ApiConfig): DynamicModule {
    const exported = [API_CONFIG, PrismaClient, BLOB_STORE, RedisService, MetricsService, ReleaseNotifier, ApiKeyNotifier, BlobCollector];
    return {
      module: InfraModule,
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: PrismaClient, useFactory: () => createPrismaClient(config.DATABASE_URL) },
        { provide: BLOB_STORE, useFactory: () => new FilesystemBlobStore(blobsDir(config)) },
        DatabaseLifecycle,
        RedisService,
        MetricsService,
        ReleaseNotifier,
        ApiKeyNotifier,
        BlobsRepository,
        BlobCollector,
      ],
      exports: exported,
    };
  }
}
