import { BullModule } from '@nestjs/bullmq';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { ZodValidationPipe } from 'nestjs-zod';
import { AppsModule } from './apps/apps.module';
import { AuthModule } from './auth/auth.module';
import { BuildsModule } from './builds/builds.module';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import type { ApiConfig } from './config';
import { DraftsModule } from './drafts/drafts.module';
import { HealthModule } from './health/health.module';
import { InfraModule } from './infra/infra.module';
import { loggerParams } from './infra/logging';
import { InternalBuildsModule } from './internal';
import { InvocationsModule } from './invocations/invocations.module';
import { InvokeModule } from './invoke/invoke.module';
import { LogsModule } from './logs/logs.module';
import { ReleasesModule } from './releases/releases.module';
import { RetentionModule } from './retention/retention.module';
import { StatsModule } from './stats/stats.module';

@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static factory
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot(loggerParams(config)),
        BullModule.forRoot({ connection: { url: config.REDIS_URL }, prefix: config.IGNITE_QUEUE_PREFIX }),
        InfraModule.forRoot(config),
        AuthModule,
        HealthModule,
        AppsModule,
        DraftsModule,
        BuildsModule,
        ReleasesModule,
        InvokeModule,
        InvocationsModule,
        LogsModule,
        StatsModule,
        RetentionModule,
        // Build pods' context download and artifact upload (Kubernetes executor); 503 until IGNITE_BUILD_TOKEN_KEY is set.
        InternalBuildsModule.fromEnv(),
      ],
      providers: [
        { provide: APP_PIPE, useClass: ZodValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
