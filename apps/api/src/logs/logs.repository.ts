import type { FunctionLogRecord, FunctionLogStream } from '@ignite/contracts';
import { Prisma, PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';
import { isForeignKeyViolation } from '../common/prisma-errors';

/** Which of an app's lines a query wants. */
export interface LogFilter {
  appId: string;
  /** Lines with a greater id (a cursor). */
  afterId?: bigint;
  since?: Date;
  until?: Date;
  executionId?: string;
  releaseNumber?: number;
  contains?: string;
}

/** A stored line, with its release's number. */
export interface StoredLogLine {
  id: bigint;
  at: Date;
  executionId: string | null;
  releaseNumber: number | null;
  instanceId: string;
  stream: FunctionLogStream;
  text: string;
}

@Injectable()
export class LogsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stores lines, skipping those already stored (an entry read twice is stored once) and those
   * of apps that no longer exist. One statement over arrays, as for invocation reports.
   */
  async store(lines: FunctionLogRecord[]): Promise<number> {
    if (lines.length === 0) return 0;
    const apps: string[] = [];
    const releases: string[] = [];
    const instances: string[] = [];
    const seqs: number[] = [];
    const executions: (string | null)[] = [];
    const streams: string[] = [];
    const texts: string[] = [];
    const ats: string[] = [];
    for (const line of lines) {
      apps.push(line.appId);
      releases.push(line.releaseId);
      instances.push(line.instanceId);
      seqs.push(line.seq);
      executions.push(line.executionId === null ? null : storable(line.executionId));
      streams.push(line.stream);
      texts.push(storable(line.text));
      ats.push(line.at.toISOString());
    }
    const insert = () => this.prisma.$executeRaw`
      INSERT INTO function_log_lines ("appId", "releaseId", "instanceId", seq, "executionId", stream, text, at)
      SELECT r.app, r.release, r.instance, r.seq, r.execution, r.stream, r.text, r.at AT TIME ZONE 'UTC'
        FROM unnest(${apps}::uuid[], ${releases}::uuid[], ${instances}::text[], ${seqs}::int[],
                    ${executions}::text[], ${streams}::text[], ${texts}::text[], ${ats}::timestamptz[])
             WITH ORDINALITY AS r(app, release, instance, seq, execution, stream, text, at, place)
        JOIN apps a ON a.id = r.app
       -- Ids in the order the lines came (the join would not keep it): the cursor's order.
       ORDER BY r.place
      ON CONFLICT ("instanceId", seq) DO NOTHING`;
    try {
      return await insert();
    } catch (error) {
      // An app deleted between the join and the insert: once more, without it.
      if (!isForeignKeyViolation(error)) throw error;
      return insert();
    }
  }

  /** Up to `limit` lines, oldest first: the first that match (`order` asc), or the last (`desc`). */
  async find(filter: LogFilter, limit: number, order: 'asc' | 'desc'): Promise<StoredLogLine[]> {
    const conditions: Prisma.Sql[] = [Prisma.sql`l."appId" = ${filter.appId}::uuid`];
    if (filter.afterId !== undefined) conditions.push(Prisma.sql`l.id > ${filter.afterId}`);
    if (filter.since !== undefined) conditions.push(Prisma.sql`l.at >= ${filter.since}`);
    if (filter.until !== undefined) conditions.push(Prisma.sql`l.at < ${filter.until}`);
    if (filter.executionId !== undefined) conditions.push(Prisma.sql`l."executionId" = ${filter.executionId}`);
    if (filter.releaseNumber !== undefined) {
      conditions.push(
        Prisma.sql`l."releaseId" = (SELECT id FROM releases WHERE "appId" = ${filter.appId}::uuid AND number = ${filter.releaseNumber})`,
      );
    }
    if (filter.contains !== undefined) conditions.push(Prisma.sql`l.text ILIKE ${`%${likeEscaped(filter.contains)}%`}`);
    const direction = order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`;
    const rows = await this.prisma.$queryRaw<StoredLogLine[]>`
      SELECT l.id, l.at, l."executionId", r.number AS "releaseNumber", l."instanceId", l.stream, l.text
        FROM function_log_lines l
        LEFT JOIN releases r ON r.id = l."releaseId"
       WHERE ${Prisma.join(conditions, ' AND ')}
       ORDER BY l.id ${direction}
       LIMIT ${limit}`;
    return order === 'asc' ? rows : rows.reverse();
  }

  /** The id of the app's latest line (0 when it has none): where a follower without a cursor starts. */
  async lastId(appId: string): Promise<bigint> {
    const [row] = await this.prisma.$queryRaw<{ id: bigint | null }[]>`
      SELECT max(id) AS id FROM function_log_lines WHERE "appId" = ${appId}::uuid`;
    return row?.id ?? 0n;
  }
}

/** Postgres text holds no NUL character: a program's NUL is stored as U+FFFD. */
function storable(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/** `text` matched literally by ILIKE (its default escape character is the backslash). */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
