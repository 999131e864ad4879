import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { LogsModule } from '../logs/logs.module';
import { InvocationsConsumer } from './invocations.consumer';
import { InvocationsController } from './invocations.controller';
import { InvocationsRepository } from './invocations.repository';
import { InvocationsService } from './invocations.service';

@Module({
  imports: [AppsModule, LogsModule],
  controllers: [InvocationsController],
  providers: [InvocationsRepository, InvocationsService, InvocationsConsumer],
})
export class InvocationsModule {}
