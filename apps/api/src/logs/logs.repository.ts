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

/** The lines one stream entry brought, stored as one chunk. */
export interface FunctionLogEntry {
  entryId: string;
  appId: string;
  releaseId: string;
  lines: FunctionLogRecord[];
}

/** A line's id is its chunk's id times this, plus its place in the chunk (more than `MAX_LINES_PER_ENTRY`). */
export const LINE_IDS_PER_CHUNK = 8192n;

@Injectable()
export class LogsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Stores each entry's lines as a chunk (see the FunctionLogChunk model), skipping an entry
   * already stored (read twice) and those of apps that no longer exist; resolves with how many
   * lines it stored.
   */
  async store(entries: FunctionLogEntry[]): Promise<number> {
    let stored = 0;
    // One statement per entry, in order: the chunks' ids are the lines' order.
    for (const entry of entries) {
      if (entry.lines.length === 0) continue;
      if (await this.storeChunk(entry)) stored += entry.lines.length;
    }
    return stored;
  }

  private async storeChunk(entry: FunctionLogEntry): Promise<boolean> {
    const instances: string[] = [];
    const executions: (string | null)[] = [];
    const streams: string[] = [];
    const texts: string[] = [];
    const ats: number[] = [];
    const executionIds = new Set<string>();
    for (const line of entry.lines) {
      instances.push(line.instanceId);
      const execution = line.executionId === null ? null : storable(line.executionId);
      executions.push(execution);
      if (execution !== null) executionIds.add(execution);
      streams.push(line.stream);
      texts.push(storable(line.text));
      ats.push(line.at.getTime());
    }
    // Each array as one JSON text: a parameter per array element costs the driver far more
    // (escaping each) than Postgres spends unpacking the JSON.
    const insert = () => this.prisma.$executeRaw`
      INSERT INTO function_log_chunks ("appId", "releaseId", "entryId", "lineCount", "firstAt", "lastAt",
                                       "executionIds", "instanceIds", executions, streams, texts, ats)
      SELECT a.id, ${entry.releaseId}::uuid, ${entry.entryId}, ${entry.lines.length},
             ${utc(Math.min(...ats))}, ${utc(Math.max(...ats))},
             ${textArray([...executionIds])}, ${textArray(instances)}, ${textArray(executions)},
             ${textArray(streams)}, ${textArray(texts)},
             (SELECT array_agg(to_timestamp(v::float8 / 1000) AT TIME ZONE 'UTC' ORDER BY n)
                FROM jsonb_array_elements_text(${JSON.stringify(ats)}::jsonb) WITH ORDINALITY AS u(v, n))
        FROM apps a WHERE a.id = ${entry.appId}::uuid
      ON CONFLICT ("appId", "entryId") DO NOTHING`;
    try {
      return (await insert()) > 0;
    } catch (error) {
      // An app deleted between the select and the insert: its lines go with it.
      if (!isForeignKeyViolation(error)) throw error;
      return (await insert()) > 0;
    }
  }

  /** Up to `limit` lines, oldest first: the first that match (`order` asc), or the last (`desc`). */
  async find(filter: LogFilter, limit: number, order: 'asc' | 'desc'): Promise<StoredLogLine[]> {
    const conditions: Prisma.Sql[] = [Prisma.sql`c."appId" = ${filter.appId}::uuid`];
    if (filter.afterId !== undefined) {
      // The chunk's bound first: what the index can use.
      conditions.push(Prisma.sql`c.id >= ${filter.afterId / LINE_IDS_PER_CHUNK}`);
      conditions.push(Prisma.sql`c.id * ${LINE_IDS_PER_CHUNK} + l.n - 1 > ${filter.afterId}`);
    }
    if (filter.since !== undefined) conditions.push(Prisma.sql`c."lastAt" >= ${filter.since} AND l.at >= ${filter.since}`);
    if (filter.until !== undefined) conditions.push(Prisma.sql`c."firstAt" < ${filter.until} AND l.at < ${filter.until}`);
    if (filter.executionId !== undefined) {
      conditions.push(Prisma.sql`c."executionIds" @> ARRAY[${filter.executionId}]::text[] AND l.execution = ${filter.executionId}`);
    }
    if (filter.releaseNumber !== undefined) {
      conditions.push(
        Prisma.sql`c."releaseId" = (SELECT id FROM releases WHERE "appId" = ${filter.appId}::uuid AND number = ${filter.releaseNumber})`,
      );
    }
    if (filter.contains !== undefined) conditions.push(Prisma.sql`l.text ILIKE ${`%${likeEscaped(filter.contains)}%`}`);
    const direction = order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`;
    const rows = await this.prisma.$queryRaw<StoredLogLine[]>`
      SELECT c.id * ${LINE_IDS_PER_CHUNK} + l.n - 1 AS id, l.at, l.execution AS "executionId", r.number AS "releaseNumber",
             l.instance AS "instanceId", l.stream, l.text
        FROM function_log_chunks c
       CROSS JOIN LATERAL unnest(c.ats, c.executions, c."instanceIds", c.streams, c.texts)
             WITH ORDINALITY AS l(at, execution, instance, stream, text, n)
        LEFT JOIN releases r ON r.id = c."releaseId"
       WHERE ${Prisma.join(conditions, ' AND ')}
       ORDER BY c.id ${direction}, l.n ${direction}
       LIMIT ${limit}`;
    return order === 'asc' ? rows : rows.reverse();
  }

  /** The id of the app's latest line (0 when it has none): where a follower without a cursor starts. */
  async lastId(appId: string): Promise<bigint> {
    const [row] = await this.prisma.$queryRaw<{ id: bigint }[]>`
      SELECT id * ${LINE_IDS_PER_CHUNK} + "lineCount" - 1 AS id
        FROM function_log_chunks WHERE "appId" = ${appId}::uuid
       ORDER BY id DESC LIMIT 1`;
    return row?.id ?? 0n;
  }
}

/** A text[] from the JSON of `values`, in their order (a JSON null is a NULL). */
function textArray(values: (string | null)[]): Prisma.Sql {
  return Prisma.sql`(SELECT coalesce(array_agg(v ORDER BY n), '{}')
                       FROM jsonb_array_elements_text(${JSON.stringify(values)}::jsonb) WITH ORDINALITY AS u(v, n))`;
}

/** A timestamp (UTC, as the columns hold them) from ms since the epoch. */
function utc(ms: number): Prisma.Sql {
  return Prisma.sql`to_timestamp(${ms}::float8 / 1000) AT TIME ZONE 'UTC'`;
}

/** Postgres text holds no NUL character: a program's NUL is stored as U+FFFD. */
function storable(text: string): string {
  // Nor does JSON for Postgres hold half a surrogate pair: that too is U+FFFD.
  const whole = text.isWellFormed() ? text : text.toWellFormed();
  return whole.includes('\u0000') ? whole.replaceAll('\u0000', '\uFFFD') : whole;
}

/** `text` matched literally by ILIKE (its default escape character is the backslash). */
function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
