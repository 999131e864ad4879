import { randomBytes } from 'node:crypto';

/**
 * Jest cannot load the `uuid` package (ESM only) without `--experimental-vm-modules`; the specs
 * stand this copy of its `v7` in for it (`jest.mock('uuid', …)`): the same layout (RFC 9562),
 * the same `random`, `msecs` and `seq` options. The compiled runner uses `uuid` itself.
 */
export function v7(options: { random?: Uint8Array; msecs?: number; seq?: number } = {}): string {
  const random = options.random ?? randomBytes(16);
  const msecs = options.msecs ?? Date.now();
  const seq = options.seq ?? ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
  const bytes = new Uint8Array(16);
  bytes[0] = (msecs / 0x10000000000) & 0xff;
  bytes[1] = (msecs / 0x100000000) & 0xff;
  bytes[2] = (msecs / 0x1000000) & 0xff;
  bytes[3] = (msecs / 0x10000) & 0xff;
  bytes[4] = (msecs / 0x100) & 0xff;
  bytes[5] = msecs & 0xff;
  bytes[6] = 0x70 | ((seq >>> 28) & 0x0f);
  bytes[7] = (seq >>> 20) & 0xff;
  bytes[8] = 0x80 | ((seq >>> 14) & 0x3f);
  bytes[9] = (seq >>> 6) & 0xff;
  bytes[10] = ((seq << 2) & 0xff) | (random[10]! & 0x03);
  for (let i = 11; i < 16; i++) bytes[i] = random[i]!;
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
