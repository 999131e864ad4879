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
 * Where a packed record's fields start (little-endian): execution id (16 bytes, a UUID), start
 * (u64, ms since the Unix epoch), duration (u32, µs), HTTP status (u16), flags (u8); with the
 * error flag, the error's length (u16) and its UTF-8 bytes follow. The SDK's side:
 * sdk/ignite-rs/ignite/src/serve/native/direct/reports.rs.
 */
const FIELD = { id: 0, startLow: 16, startHigh: 20, duration: 24, status: 28, flags: 30, error: 31 } as const;
/** A packed record without its error. */
const RECORD_BYTES = FIELD.error;
const COLD = 1;
const HAS_ERROR = 2;

/**
 * A program's `reports` message (one line on its message pipe, for every batch of direct
 * invocations), in either form:
 * - `packed`: the records, base64, as the SDK writes them (layout: `FIELD`);
 * - `items`: one JSON object per report, what SDK versions before packed records wrote (still
 *   read: a published artifact keeps the SDK it was built with).
 */
export const DirectReportsMessageSchema = z
  .object({
    type: z.literal('reports'),
    packed: z.base64().optional(),
    items: z.array(z.unknown()).max(MAX_REPORTS).optional(),
  })
  .refine((message) => (message.packed === undefined) !== (message.items === undefined), {
    message: 'a reports message has either `packed` or `items`',
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
  const { packed, items } = parsed.data;
  if (packed !== undefined) return unpackDirectReports(Buffer.from(packed, 'base64'));
  const { valid, invalid } = validateEach(DirectReportSchema, items ?? []);
  return { reports: valid, invalid };
}

/**
 * Packed records one after the other (layout: `FIELD`), each validated. Records after one that
 * is cut short cannot be found: that one and the rest are reported invalid once.
 */
export function unpackDirectReports(records: Buffer): UnpackedDirectReports {
  const decoded: unknown[] = [];
  let unreadable: z.core.$ZodIssue | null = null;
  for (let at = 0; at < records.length && unreadable === null; ) {
    let end = at + RECORD_BYTES;
    const flags = end <= records.length ? records[at + FIELD.flags]! : 0;
    if (flags & HAS_ERROR) end += 2 + (end + 2 <= records.length ? records.readUInt16LE(end) : 0);
    if (decoded.length === MAX_REPORTS) unreadable = issue(at, `more than ${MAX_REPORTS} reports in one message: the rest is ignored`);
    else if (end > records.length)
      unreadable = issue(at, `a packed report is cut short: it needs ${end - at} bytes, ${records.length - at} are left`);
    else
      decoded.push({
        e: uuidText(records.subarray(at + FIELD.id, at + FIELD.id + 16)),
        t: records.readUInt32LE(at + FIELD.startLow) + records.readUInt32LE(at + FIELD.startHigh) * 2 ** 32,
        d: records.readUInt32LE(at + FIELD.duration) / 1000,
        s: records.readUInt16LE(at + FIELD.status),
        c: (flags & COLD) !== 0,
        ...(flags & HAS_ERROR ? { err: records.toString('utf8', at + RECORD_BYTES + 2, end) } : {}),
      });
    at = end;
  }
  const { valid, invalid } = validateEach(DirectReportSchema, decoded);
  return { reports: valid, invalid: unreadable === null ? invalid : [...invalid, [unreadable]] };
}

/**
 * One record packed as the SDK packs it (the inverse of `unpackDirectReports`), for what produces
 * direct reports outside a program: tests and tools.
 */
export function packDirectReport(report: { e: string; t: number; d: number; s: number; c?: boolean; err?: string }): Buffer {
  const error = report.err === undefined ? null : Buffer.from(report.err, 'utf8');
  const record = Buffer.alloc(RECORD_BYTES + (error ? 2 + error.length : 0));
  Buffer.from(report.e.replaceAll('-', ''), 'hex').copy(record, FIELD.id, 0, 16);
  record.writeUInt32LE(report.t % 2 ** 32, FIELD.startLow);
  record.writeUInt32LE(Math.floor(report.t / 2 ** 32), FIELD.startHigh);
  record.writeUInt32LE(Math.round(report.d * 1000), FIELD.duration);
  record.writeUInt16LE(report.s, FIELD.status);
  record[FIELD.flags] = (report.c ? COLD : 0) | (error ? HAS_ERROR : 0);
  if (error) {
    record.writeUInt16LE(error.length, RECORD_BYTES);
    error.copy(record, RECORD_BYTES + 2);
  }
  return record;
}

function issue(offset: number, message: string): z.core.$ZodIssue {
  return { code: 'custom', path: ['packed', offset], message, input: undefined };
}

/** 16 bytes as a hyphenated, lower-case UUID. */
function uuidText(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
