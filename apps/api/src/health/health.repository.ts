import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';

@Injectable()
export class HealthRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** True when Postgres answers a trivial query within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.prisma.$queryRaw`SELECT 1`,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
