import { QueueName } from '@ignite/contracts';
import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { BuildLogsService } from './build-logs.service';
import { BuildQueue } from './build-queue.service';
import { BuildsController, OrgBuildsController } from './builds.controller';
import { BuildsRepository } from './builds.repository';
import { BuildsService } from './builds.service';

@Module({
  imports: [AppsModule, BullModule.registerQueue({ name: QueueName.builds })],
  controllers: [BuildsController, OrgBuildsController],
  providers: [BuildsRepository, BuildQueue, BuildLogsService, BuildsService],
})
export class BuildsModule {}
