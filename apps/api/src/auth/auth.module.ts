import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { LocalBootstrapService } from './local-bootstrap.service';
import { WhoAmIController } from './whoami.controller';

@Module({
  controllers: [ApiKeysController, WhoAmIController],
  providers: [ApiKeysRepository, ApiKeysService, LocalBootstrapService, { provide: APP_GUARD, useClass: ApiKeyGuard }],
  exports: [ApiKeysService],
})
export class AuthModule {}
