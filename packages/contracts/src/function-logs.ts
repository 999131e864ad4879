import { z } from 'zod';
import { validateEach } from './validate-each';

/** Longest text of one stored log line, in characters: a longer line is stored in pieces of this size. */
export const MAX_FUNCTION_LOG_LINE_CHARS = 16 * 1024;

/**
 * Where a function's log line comes from: `stderr` (`eprintln!`, and the SDK's words about an
 * invocation: its error, its panic), `stdout` (`println!`: the SDK tags it and writes it to
 * stderr; a wasm guest's stdout), `platform` (the runner about the instance: lines it dropped
 * over the rate limit, why it stopped it).
 */
export const FunctionLogStreamSchema = z.enum(['stdout', 'stderr', 'platform']);
export type FunctionLogStream = z.infer<typeof FunctionLogStreamSchema>;

/** One line of a function's log as a runner ships it (short keys: tens of thousands a second). */
export const FunctionLogLineSchema = z.object({
  /** The instance that wrote it: the runner's id for one run of a program or wasm host. */
  i: z.string().min(1).max(128),
  /** Its place in the instance's log (from 0): where a reader sees that lines are missing. */
  n: z.number().int().nonnegative(),
  /** The execution it belongs to, when that is known. */
  e: z.string().min(1).max(256).optional(),
  s: FunctionLogStreamSchema,
  /** When the runner read it, ms since the Unix epoch. */
  t: z.number().int().nonnegative(),
  x: z.string().max(MAX_FUNCTION_LOG_LINE_CHARS),
});
export type FunctionLogLine = z.infer<typeof FunctionLogLineSchema>;

/** The lines of one app's release in one stream entry: fields `app`, `release` and `lines` (a JSON array). */
export const functionLogStreamFields = { app: 'app', release: 'release', lines: 'lines' } as const;

/** A function log line as the API stores it. */
export interface FunctionLogRecord {
  appId: string;
  releaseId: string;
  instanceId: string;
  seq: number;
  executionId: string | null;
  stream: FunctionLogStream;
  text: string;
  at: Date;
}

/** Most lines in one stream entry. */
export const MAX_LINES_PER_ENTRY = 5_000;

const OwnerSchema = z.object({ appId: z.uuid(), releaseId: z.uuid() });
const EntryItemsSchema = z.array(z.unknown()).max(MAX_LINES_PER_ENTRY);

/** The lines of one function-logs stream entry (fields as Redis returns them), each validated; what is not valid, as issues. */
export function readFunctionLogStreamEntry(fields: string[]): { lines: FunctionLogRecord[]; invalid: z.core.$ZodIssue[][] } {
  const field = (name: string) => {
    const index = fields.findIndex((value, i) => i % 2 === 0 && value === name);
    return index >= 0 ? fields[index + 1] : undefined;
  };
  const owner = OwnerSchema.safeParse({ appId: field(functionLogStreamFields.app), releaseId: field(functionLogStreamFields.release) });
  if (!owner.success) return { lines: [], invalid: [owner.error.issues] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(field(functionLogStreamFields.lines) ?? 'null');
  } catch {
    parsed = null;
  }
  const items = EntryItemsSchema.safeParse(parsed);
  if (!items.success) return { lines: [], invalid: [items.error.issues] };
  const { valid, invalid } = validateEach(FunctionLogLineSchema, items.data);
  const lines = valid.map(
    (line): FunctionLogRecord => ({
      appId: owner.data.appId,
      releaseId: owner.data.releaseId,
      instanceId: line.i,
      seq: line.n,
      executionId: line.e ?? null,
      stream: line.s,
      text: line.x,
      at: new Date(line.t),
    }),
  );
  return { lines, invalid };
}
