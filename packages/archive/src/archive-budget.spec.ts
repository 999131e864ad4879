import { ArchiveBudget } from './archive-budget';
import { RATIO_CHECK_FLOOR_BYTES } from './archive-limits';
import type { ArchiveRejectedError } from './archive-rejected-error';

const MIB = 1024 * 1024;
const limits = { maxEntries: 2, maxEntryBytes: 4 * MIB, maxTotalBytes: 6 * MIB, maxCompressionRatio: 10 };

function reasonOf(action: () => void): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return (error as ArchiveRejectedError).reason;
  }
}

describe('ArchiveBudget', () => {
  it('counts entries', () => {
    const budget = new ArchiveBudget(limits, MIB);
    budget.countEntry();
    budget.countEntry();
    expect(reasonOf(() => budget.countEntry())).toBe('too_many_entries');
    expect(reasonOf(() => new ArchiveBudget(limits, MIB).checkDeclaredEntryCount(3))).toBe('too_many_entries');
  });

  it('refuses a file on the bytes actually read, whatever its header said', () => {
    const budget = new ArchiveBudget(limits, 100 * MIB);
    budget.checkDeclaredFile('small.txt', 10, undefined);
    const meter = budget.meterFile('small.txt', undefined);
    meter.add(4 * MIB);
    expect(meter.bytes).toBe(4 * MIB);
    expect(reasonOf(() => meter.add(1))).toBe('entry_too_large');
  });

  it('refuses a file whose header announces too much', () => {
    expect(reasonOf(() => new ArchiveBudget(limits, MIB).checkDeclaredFile('big', 4 * MIB + 1, undefined))).toBe('entry_too_large');
  });

  it('keeps a running total across files', () => {
    const budget = new ArchiveBudget(limits, 100 * MIB);
    budget.meterFile('a', undefined).add(4 * MIB);
    expect(reasonOf(() => budget.meterFile('b', undefined).add(2 * MIB + 1))).toBe('total_too_large');
  });

  it('checks the per-entry and whole-archive ratios only past the floor', () => {
    const tiny = new ArchiveBudget(limits, 10);
    tiny.meterFile('padding', 1).add(RATIO_CHECK_FLOOR_BYTES);
    expect(reasonOf(() => new ArchiveBudget(limits, 100 * MIB).meterFile('bomb', 1000).add(RATIO_CHECK_FLOOR_BYTES + 1))).toBe(
      'compression_ratio',
    );
    expect(reasonOf(() => new ArchiveBudget(limits, 1000).meterFile('file', undefined).add(RATIO_CHECK_FLOOR_BYTES + 1))).toBe(
      'compression_ratio',
    );
    expect(reasonOf(() => new ArchiveBudget(limits, 1000).meterDecompressedStream()(RATIO_CHECK_FLOOR_BYTES + 1))).toBe(
      'compression_ratio',
    );
  });

  it('bounds a tar stream by what its files and headers can account for', () => {
    const count = new ArchiveBudget(limits, 1000 * MIB).meterDecompressedStream();
    expect(reasonOf(() => count(6 * MIB + 2 * 8 * 1024 + MIB + 1))).toBe('total_too_large');
  });
});
