import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { LogsConsumer } from './logs.consumer';
import { LogsController } from './logs.controller';
import { LogsRepository } from './logs.repository';
import { LogsService } from './logs.service';

@Module({
  imports: [AppsModule],
  controllers: [LogsController],
  providers: [LogsRepository, LogsService, LogsConsumer],
  exports: [LogsService],
})
export class LogsModule {}
