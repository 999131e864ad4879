import { Module } from '@nestjs/common';
import { AppsModule } from '../apps/apps.module';
import { InvokeController } from './invoke.controller';
import { InvokeService } from './invoke.service';

@Module({ imports: [AppsModule], controllers: [InvokeController], providers: [InvokeService] })
export class InvokeModule {}
