import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';

/** Random bytes drawn 4 KiB at a time: one call into the CSPRNG per 256 ids instead of one per id. */
const pool = Buffer.alloc(4096);
let offset = pool.length;
/** Like uuid's own v7 state: ids made in the same millisecond keep increasing. */
let lastMs = Number.NEGATIVE_INFINITY;
let sequence = 0;

/** A new execution id: a UUIDv7 (time-ordered, so invocations sort by start). */
export function newExecutionId(): string {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const random = pool.subarray(offset, offset + 16);
  offset += 16;
  const now = Date.now();
  if (now > lastMs) {
    lastMs = now;
    sequence = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMs++;
  }
  return v7({ random, msecs: lastMs, seq: sequence });
}
