import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { validateEach } from './validate-each';

/** One invocation served on a direct connection, as the API reads it from a program's `reports` message. */
export const DirectReportSchema = z.object({
  /** Execution id. */
  e: z.string().min(1).max(256),
  /** HTTP status. */
  s: z.number().int().min(100).max(599),
  /** Duration in ms. */
  d: z.number().nonnegative(),
  /** Cold: this invocation started the instance (absent: false). */
  c: z.boolean().default(false),
  /** Start, ms since the Unix epoch. */
  t: z.number().int().nonnegative(),
  /** The error message of a failed invocation. */
  err: z.string().max(4096).optional(),
});
export type DirectReport = z.infer<typeof DirectReportSchema>;

/** Most reports in one message. */
const MAX_REPORTS = 10_000;
/**
 * Where a record's fields start (little-endian): execution id (16 bytes, a UUIDv7: its
 * millisecond is the invocation's start), duration (u32, µs), HTTP status (u16), flags (u8); with
 * the error flag, the error's length (u16) and its UTF-8 bytes follow. The SDK's side:
 * sdk/ignite-rs/ignite/src/serve/native/direct/reports.rs.
 */
const RECORD = { id: 0, duration: 16, status: 20, flags: 22, error: 23 } as const;
/**
 * The records of earlier SDKs (until 2026-12-03: `packed`): the start as a field of its own (u64,
 * ms since the Unix epoch) after the id.
 */
const PACKED = { id: 0, startLow: 16, startHigh: 20, duration: 24, status: 28, flags: 30, error: 31 } as const;
type Layout = typeof RECORD | typeof PACKED;
const COLD = 1;
const HAS_ERROR = 2;

/**
 * A program's `reports` message (one line on its message pipe, for every batch of direct
 * invocations), in one of its forms (a published artifact keeps the SDK it was built with):
 * - `records`: the records, base64, as the SDK writes them (layout: `RECORD`);
 * - `packed`: the records of earlier SDKs, which carried the start apart (layout: `PACKED`);
 * - `items`: one JSON object per report, what SDKs before packed records wrote.
 */
export const DirectReportsMessageSchema = z
  .object({
    type: z.literal('reports'),
    // Not checked as base64 here (a regular expression over hundreds of KB per batch): what does
    // not decode into whole records is reported invalid by `unpackDirectReports`.
    records: z.string().optional(),
    packed: z.string().optional(),
    items: z.array(z.unknown()).max(MAX_REPORTS).optional(),
  })
  .refine((message) => [message.records, message.packed, message.items].filter((form) => form !== undefined).length === 1, {
    message: 'a reports message has one of `records`, `packed` or `items`',
  });

/**
 * The line a program writes for its `reports` message starts with this (the SDK writes `type`
 * first): the runner records such a line without parsing it.
 */
export const DIRECT_REPORTS_LINE_PREFIX = '{"type":"reports",';

/** The reports of a `reports` message, each valid; what was not a valid report, as issues. */
export interface UnpackedDirectReports {
  reports: DirectReport[];
  invalid: z.core.$ZodIssue[][];
}

/** Reads a `reports` message (already parsed from its JSON line). */
export function readDirectReports(message: unknown): UnpackedDirectReports {
  const parsed = DirectReportsMessageSchema.safeParse(message);
  if (!parsed.success) return { reports: [], invalid: [parsed.error.issues] };
  const { records, packed, items } = parsed.data;
  if (records !== undefined) return unpackDirectReports(Buffer.from(records, 'base64'));
  if (packed !== undefined) return unpackDirectReports(Buffer.from(packed, 'base64'), PACKED);
  const { valid, invalid } = validateEach(DirectReportSchema, items ?? []);
  return { reports: valid, invalid };
}

/**
 * Records one after the other (`layout`: the SDK's `RECORD`, or the `PACKED` of earlier SDKs),
 * each validated. Records after one that is cut short cannot be found: that one and the rest
 * are reported invalid once.
 */
export function unpackDirectReports(records: Buffer, layout: Layout = RECORD): UnpackedDirectReports {
  const decoded: DirectReport[] = [];
  const field = layout === RECORD ? 'records' : 'packed';
  let unreadable: z.core.$ZodIssue | null = null;
  for (let at = 0; at < records.length && unreadable === null; ) {
    let end = at + layout.error;
    const flags = end <= records.length ? records[at + layout.flags]! : 0;
    if (flags & HAS_ERROR) end += 2 + (end + 2 <= records.length ? records.readUInt16LE(end) : 0);
    if (decoded.length === MAX_REPORTS)
      unreadable = issue(field, at, `more than ${MAX_REPORTS} reports in one message: the rest is ignored`);
    else if (end > records.length)
      unreadable = issue(field, at, `a packed report is cut short: it needs ${end - at} bytes, ${records.length - at} are left`);
    else {
      const id = at + layout.id;
      const report: DirectReport = {
        e: uuidAt(records, id),
        t:
          'startLow' in layout
            ? records.readUInt32LE(at + layout.startLow) + records.readUInt32LE(at + layout.startHigh) * 2 ** 32
            : v7StartAt(records, id),
        d: records.readUInt32LE(at + layout.duration) / 1000,
        s: records.readUInt16LE(at + layout.status),
        c: (flags & COLD) !== 0,
      };
      if (flags & HAS_ERROR) report.err = records.toString('utf8', at + layout.error + 2, end);
      decoded.push(report);
    }
    at = end;
  }
  // Checked by hand first (tens of thousands a second: zod per report cost more than the rest of
  // recording them); zod says what is wrong with the few that fail.
  const valid: DirectReport[] = [];
  const others: unknown[] = [];
  for (const report of decoded) (isValidDecoded(report) ? valid : others).push(report);
  const checked = validateEach(DirectReportSchema, others);
  valid.push(...checked.valid);
  return { reports: valid, invalid: unreadable === null ? checked.invalid : [...checked.invalid, [unreadable]] };
}

/** `DirectReportSchema`'s rules for a record `unpackDirectReports` decoded (its id, duration and flags cannot be wrong). */
function isValidDecoded(report: DirectReport): boolean {
  return (
    Number.isInteger(report.t) &&
    report.t >= 0 &&
    Number.isInteger(report.s) &&
    report.s >= 100 &&
    report.s <= 599 &&
    (report.err === undefined || report.err.length <= 4096)
  );
}

/**
 * One record as the SDK writes it (the inverse of `unpackDirectReports`), for what produces
 * direct reports outside a program: tests and tools. Its start is its id's (a UUIDv7, see
 * `executionIdAt`).
 */
export function packDirectReport(report: { e: string; d: number; s: number; c?: boolean; err?: string }): Buffer {
  const error = report.err === undefined ? null : Buffer.from(report.err, 'utf8');
  const record = Buffer.alloc(RECORD.error + (error ? 2 + error.length : 0));
  Buffer.from(report.e.replaceAll('-', ''), 'hex').copy(record, RECORD.id, 0, 16);
  record.writeUInt32LE(Math.round(report.d * 1000), RECORD.duration);
  record.writeUInt16LE(report.s, RECORD.status);
  record[RECORD.flags] = (report.c ? COLD : 0) | (error ? HAS_ERROR : 0);
  if (error) {
    record.writeUInt16LE(error.length, RECORD.error);
    error.copy(record, RECORD.error + 2);
  }
  return record;
}

/** A UUIDv7 of the millisecond `unixMs` (the rest random), as the SDK makes execution ids: for tests and tools. */
export function executionIdAt(unixMs: number): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(unixMs, 0, 6);
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return uuidText(bytes);
}

/** The millisecond of the UUIDv7 at `offset` (its first 48 bits); NaN for another version (the report is then invalid). */
function v7StartAt(bytes: Buffer, offset: number): number {
  return bytes[offset + 6]! >> 4 === 7 ? bytes.readUIntBE(offset, 6) : Number.NaN;
}

/** The 16 bytes at `offset` as a hyphenated, lower-case UUID. */
function uuidAt(bytes: Buffer, offset: number): string {
  const hex = bytes.toString('hex', offset, offset + 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function issue(field: string, offset: number, message: string): z.core.$ZodIssue {
  return { code: 'custom', path: [field, offset], message, input: undefined };
}

/** 16 bytes as a hyphenated, lower-case UUID. */
function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
