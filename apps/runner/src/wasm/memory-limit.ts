/**
 * Caps the linear memory of a core WebAssembly module: rewrites the maximum of every memory the
 * module defines (its memory section; imported memories follow their exporter). A component's
 * memory is defined by its main core module without a maximum, so without this a guest could
 * grow until the runner's process runs out. With it, `memory.grow` fails at the limit, the
 * guest's allocator reports the failure and the guest traps.
 */

const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const VERSION_1 = [0x01, 0x00, 0x00, 0x00];
const MEMORY_SECTION = 5;
export const WASM_PAGE_BYTES = 64 * 1024;

/** The module needs more memory at start than its limit allows. */
export class MemoryLimitError extends Error {
  constructor(
    readonly neededPages: number,
    readonly limitPages: number,
  ) {
    super(
      `the component needs ${Math.ceil((neededPages * WASM_PAGE_BYTES) / (1024 * 1024))} MiB of memory at start, more than its limit of ${Math.floor((limitPages * WASM_PAGE_BYTES) / (1024 * 1024))} MiB`,
    );
    this.name = 'MemoryLimitError';
  }
}

function readU32(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  for (let i = offset; i < bytes.length && i < offset + 5; i++) {
    const byte = bytes[i]!;
    result += (byte & 0x7f) * 2 ** shift;
    shift += 7;
    if ((byte & 0x80) === 0) return [result, i + 1];
  }
  throw new Error('malformed WebAssembly module: bad LEB128 integer');
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return out;
}

/**
 * `module` with every memory it defines capped at `maxPages` pages (an existing lower maximum is
 * kept). Modules without a memory section come back unchanged.
 */
export function limitMemory(module: Uint8Array, maxPages: number): Uint8Array {
  if (!MAGIC.every((byte, i) => module[i] === byte) || !VERSION_1.every((byte, i) => module[4 + i] === byte)) {
    throw new Error('not a WebAssembly core module');
  }
  let offset = 8;
  while (offset < module.length) {
    const id = module[offset]!;
    const [size, contentStart] = readU32(module, offset + 1);
    const contentEnd = contentStart + size;
    if (contentEnd > module.length) throw new Error('malformed WebAssembly module: section past the end');
    if (id === MEMORY_SECTION) {
      const content = rewriteMemories(module.subarray(contentStart, contentEnd), maxPages);
      const header = [MEMORY_SECTION, ...writeU32(content.length)];
      const out = new Uint8Array(offset + header.length + content.length + (module.length - contentEnd));
      out.set(module.subarray(0, offset), 0);
      out.set(header, offset);
      out.set(content, offset + header.length);
      out.set(module.subarray(contentEnd), offset + header.length + content.length);
      return out;
    }
    offset = contentEnd;
  }
  return module;
}

function rewriteMemories(content: Uint8Array, maxPages: number): Uint8Array {
  const [count, first] = readU32(content, 0);
  const out: number[] = writeU32(count);
  let offset = first;
  for (let i = 0; i < count; i++) {
    const flags = content[offset]!;
    if (flags & 0x04) throw new Error('64-bit memories are not supported');
    const [min, afterMin] = readU32(content, offset + 1);
    let existingMax: number | null = null;
    offset = afterMin;
    if (flags & 0x01) {
      const [max, afterMax] = readU32(content, offset);
      existingMax = max;
      offset = afterMax;
    }
    const max = existingMax === null ? maxPages : Math.min(existingMax, maxPages);
    if (min > max) throw new MemoryLimitError(min, maxPages);
    // Keep the shared bit (0x02), always declare a maximum (0x01).
    out.push((flags & 0x02) | 0x01, ...writeU32(min), ...writeU32(max));
  }
  if (offset !== content.length) throw new Error('malformed WebAssembly module: memory section has trailing bytes');
  return Uint8Array.from(out);
}
