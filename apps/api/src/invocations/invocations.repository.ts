import type { InvocationReport } from '@ignite/contracts';
import type { InvocationModel } from '@ignite/database';
import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';
import { isForeignKeyViolation } from '../common/prisma-errors';

@Injectable()
export class InvocationsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Records reports, skipping those already recorded (an entry read twice is recorded once) and
   * those of apps that no longer exist; a release that no longer exists is recorded as null.
   * Resolves with how many rows were inserted.
   */
  async record(reports: InvocationReport[]): Promise<number> {
    if (reports.length === 0) return 0;
    const appIds = [...new Set(reports.map((report) => report.appId))];
    const releaseIds = [...new Set(reports.flatMap((report) => (report.releaseId ? [report.releaseId] : [])))];
    const [apps, releases] = await Promise.all([
      this.prisma.app.findMany({ where: { id: { in: appIds } }, select: { id: true } }),
      releaseIds.length === 0 ? [] : this.prisma.release.findMany({ where: { id: { in: releaseIds } }, select: { id: true } }),
    ]);
    const liveApps = new Set(apps.map((app) => app.id));
    const liveReleases = new Set(releases.map((release) => release.id));
    const rows = reports
      .filter((report) => liveApps.has(report.appId))
      .map((report) => ({
        executionId: report.executionId,
        appId: report.appId,
        releaseId: report.releaseId && liveReleases.has(report.releaseId) ? report.releaseId : null,
        statusCode: report.statusCode,
        durationMs: report.durationMs,
        cold: report.cold,
        error: report.error,
        createdAt: new Date(report.at),
      }));
    if (rows.length === 0) return 0;
    try {
      const { count } = await this.prisma.invocation.createMany({ data: rows, skipDuplicates: true });
      return count;
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      // An app deleted since the check above (its releases with it): record the others one by one.
      let count = 0;
      for (const row of rows) {
        try {
          count += (await this.prisma.invocation.createMany({ data: [row], skipDuplicates: true })).count;
        } catch (rowError) {
          if (!isForeignKeyViolation(rowError)) throw rowError;
        }
      }
      return count;
    }
  }

  async recent(appId: string, take: number): Promise<(InvocationModel & { release: { number: number } | null })[]> {
    return this.prisma.invocation.findMany({
      where: { appId },
      orderBy: [{ createdAt: 'desc' }, { executionId: 'desc' }],
      take,
      include: { release: { select: { number: true } } },
    });
  }
}
