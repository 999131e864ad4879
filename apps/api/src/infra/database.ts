import { PrismaClient } from '@ignite/database';
import { Injectable, type OnApplicationShutdown } from '@nestjs/common';

/** Disconnects the Prisma client (provided under its own class) when the app closes. */
@Injectable()
export class DatabaseLifecycle implements OnApplicationShutdown {
  constructor(private readonly prisma: PrismaClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
