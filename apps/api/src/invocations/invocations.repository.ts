import type { InvocationReport } from '@ignite/contracts';
import type { InvocationModel } from '@ignite/database';
import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';
import { isForeignKeyViolation } from '../common/prisma-errors';

/** Status codes from `from` (inclusive) to `below` (exclusive); either end open when undefined. */
export interface StatusCodeRange {
  from?: number;
  below?: number;
}

/** Which invocations a list holds (undefined: any). */
export interface InvocationFilter {
  statusCode?: StatusCodeRange | undefined;
  releaseNumber?: number | undefined;
  cold?: boolean | undefined;
  before?: Date | undefined;
}

@Injectable()
export class InvocationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Records reports, skipping those already recorded (an entry read twice is recorded once) and
   * those of apps that no longer exist; a release that no longer exists is recorded as null.
   * Resolves with how many rows were inserted. One statement over arrays (the data plane reports
   * tens of thousands of invocations a second: a row of parameters each, as Prisma's createMany
   * builds them, cost the API more than the invocations cost the programs).
   */
  async record(reports: InvocationReport[]): Promise<number> {
    if (reports.length === 0) return 0;
    const executionIds: string[] = [];
    const appIds: string[] = [];
    const releaseIds: (string | null)[] = [];
    const statuses: number[] = [];
    const durations: number[] = [];
    const colds: boolean[] = [];
    const errors: (string | null)[] = [];
    const ats: string[] = [];
    for (const report of reports) {
      executionIds.push(report.executionId);
      appIds.push(report.appId);
      releaseIds.push(report.releaseId);
      statuses.push(report.statusCode);
      durations.push(report.durationMs);
      colds.push(report.cold);
      errors.push(report.error);
      ats.push(report.at);
    }
    const insert = () => this.prisma.$executeRaw`
      INSERT INTO invocations ("executionId", "appId", "releaseId", "statusCode", "durationMs", cold, error, "createdAt")
      SELECT r.id, r.app, rel.id, r.status, r.duration, r.cold, r.error, r.at AT TIME ZONE 'UTC'
        FROM unnest(${executionIds}::text[], ${appIds}::uuid[], ${releaseIds}::uuid[], ${statuses}::int[],
                    ${durations}::float8[], ${colds}::boolean[], ${errors}::text[], ${ats}::timestamptz[])
             AS r(id, app, release, status, duration, cold, error, at)
        JOIN apps a ON a.id = r.app
        LEFT JOIN releases rel ON rel.id = r.release
      ON CONFLICT ("executionId") DO NOTHING`;
    try {
      return await insert();
    } catch (error) {
      // An app deleted (its releases with it) between the join and the insert: once more, without it.
      if (!isForeignKeyViolation(error)) throw error;
      return insert();
    }
  }

  async recent(
    appId: string,
    take: number,
    filter: InvocationFilter = {},
  ): Promise<(InvocationModel & { release: { number: number } | null })[]> {
    const { statusCode, releaseNumber, cold, before } = filter;
    return this.prisma.invocation.findMany({
      where: {
        appId,
        ...(statusCode === undefined ? {} : { statusCode: { gte: statusCode.from, lt: statusCode.below } }),
        ...(releaseNumber === undefined ? {} : { release: { is: { number: releaseNumber } } }),
        ...(cold === undefined ? {} : { cold }),
        ...(before === undefined ? {} : { createdAt: { lt: before } }),
      },
      orderBy: [{ createdAt: 'desc' }, { executionId: 'desc' }],
      take,
      include: { release: { select: { number: true } } },
    });
  }

  async find(appId: string, executionId: string): Promise<(InvocationModel & { release: { number: number } | null }) | null> {
    return this.prisma.invocation.findFirst({
      where: { executionId, appId },
      include: { release: { select: { number: true } } },
    });
  }
}
