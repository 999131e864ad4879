import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { ReleasesController } from './releases.controller';
import { ReleasesRepository } from './releases.repository';
import { ReleasesService } from './releases.service';

@Module({ imports: [AppsModule], controllers: [ReleasesController], providers: [ReleasesRepository, ReleasesService] })
export class ReleasesModule {}
