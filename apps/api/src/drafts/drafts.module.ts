import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { DraftsController } from './drafts.controller';
import { DraftsRepository } from './drafts.repository';
import { DraftsService } from './drafts.service';

@Module({ imports: [AppsModule], controllers: [DraftsController], providers: [DraftsRepository, DraftsService] })
export class DraftsModule {}
