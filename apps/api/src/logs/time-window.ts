/** `90s`, `10m`, `2h`, `7d`: a length of time back from now. */
const RELATIVE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration such as `10m` in ms; undefined if `text` is not one. */
export function durationMs(text: string): number | undefined {
  const match = RELATIVE.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

/**
 * A point in time as a query gives it: an ISO 8601 time, or a duration back from `now` (`10m`).
 * Undefined if it is neither (the DTO's refinement says so to the caller).
 */
export function pointInTime(text: string, now: number = Date.now()): Date | undefined {
  const back = durationMs(text);
  if (back !== undefined) return new Date(now - back);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
