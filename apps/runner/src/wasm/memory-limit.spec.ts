import { limitMemory, MemoryLimitError } from './memory-limit';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const TYPE_SECTION = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00];

/** A module: a type section, then a memory section with these limits (`[min]` or `[min, max]`), then a custom section. */
function moduleWith(...memories: number[][]): Uint8Array {
  const limits = memories.flatMap((memory) =>
    memory.length === 1 ? [0x00, ...leb(memory[0]!)] : [0x01, ...leb(memory[0]!), ...leb(memory[1]!)],
  );
  const memory = [memories.length, ...limits];
  const custom = [0x00, 0x03, 0x02, 0x68, 0x69];
  return Uint8Array.from([...HEADER, ...TYPE_SECTION, 0x05, ...leb(memory.length), ...memory, ...custom]);
}

function leb(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

describe('limitMemory', () => {
  it('gives an unbounded memory a maximum, keeping everything else', () => {
    const limited = limitMemory(moduleWith([17]), 2048);
    expect([...limited]).toEqual([...moduleWith([17, 2048])]);
  });

  it('keeps a lower maximum, lowers a higher one', () => {
    expect([...limitMemory(moduleWith([1, 10]), 2048)]).toEqual([...moduleWith([1, 10])]);
    expect([...limitMemory(moduleWith([1, 65536]), 300)]).toEqual([...moduleWith([1, 300])]);
  });

  it('refuses a module that needs more than the limit at start', () => {
    expect(() => limitMemory(moduleWith([4096]), 1024)).toThrow(MemoryLimitError);
    expect(() => limitMemory(moduleWith([4096]), 1024)).toThrow(
      'the component needs 256 MiB of memory at start, more than its limit of 64 MiB',
    );
  });

  it('leaves a module without memories alone and refuses what is not a module', () => {
    const noMemory = Uint8Array.from([...HEADER, ...TYPE_SECTION]);
    expect(limitMemory(noMemory, 10)).toBe(noMemory);
    expect(() => limitMemory(Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]), 10)).toThrow(
      'not a WebAssembly core module',
    );
  });

  it('is accepted by WebAssembly with the new maximum', async () => {
    const limited = limitMemory(moduleWith([1]), 3);
    const api = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<unknown> } }).WebAssembly;
    await expect(api.compile(limited)).resolves.toBeDefined();
  });
});
