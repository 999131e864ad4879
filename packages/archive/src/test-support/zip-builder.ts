import { writeFile } from 'node:fs/promises';
import { crc32, deflateRawSync } from 'node:zlib';

/** One entry of a hand-made zip. */
export interface ZipEntrySpec {
  /** Stored as UTF-8 bytes, as is (backslashes, NULs and all). */
  name: string;
  content?: Buffer | string;
  /** A full Unix st_mode (type bits included) for the external attributes; 0 for none (as from Windows). */
  unixMode?: number;
  /** Store uncompressed instead of deflating. */
  stored?: boolean;
  /** Announce this uncompressed size in the headers instead of the true one. */
  declaredSize?: number;
}

interface LaidOutEntry {
  name: Buffer;
  method: number;
  crc: number;
  compressedSize: number;
  uncompressedSize: number;
  externalAttributes: number;
  offset: number;
}

const UTF8_NAMES = 0x0800;
const MADE_ON_UNIX = 3 << 8;
const VERSION = 20;

/** The bytes of a zip holding `entries`, with a central directory as `zip` writes it. */
export function zipBytes(entries: ZipEntrySpec[]): Buffer {
  const parts: Buffer[] = [];
  const laidOut: LaidOutEntry[] = [];
  let offset = 0;
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    const stored = entry.stored === true || content.length === 0;
    const data = stored ? content : deflateRawSync(content);
    const item: LaidOutEntry = {
      name: Buffer.from(entry.name, 'utf8'),
      method: stored ? 0 : 8,
      crc: crc32(content),
      compressedSize: data.length,
      uncompressedSize: entry.declaredSize ?? content.length,
      externalAttributes: ((entry.unixMode ?? 0o100644) << 16) >>> 0,
      offset,
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(item.method, 8);
    local.writeUInt32LE(item.crc, 14);
    local.writeUInt32LE(item.compressedSize, 18);
    local.writeUInt32LE(item.uncompressedSize, 22);
    local.writeUInt16LE(item.name.length, 26);
    parts.push(local, item.name, data);
    offset += local.length + item.name.length + data.length;
    laidOut.push(item);
  }
  return Buffer.concat([...parts, centralDirectory(laidOut, offset)]);
}

/** A zip whose entries all point at the same compressed data: the overlapping-file bomb. */
export function overlappingZipBytes(content: Buffer, names: string[]): Buffer {
  const data = deflateRawSync(content);
  const name = Buffer.from('shared', 'utf8');
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(VERSION, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc32(content), 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(name.length, 26);
  const body = Buffer.concat([local, name, data]);
  const entries = names.map((entryName) => ({
    name: Buffer.from(entryName, 'utf8'),
    method: 8,
    crc: crc32(content),
    compressedSize: data.length,
    uncompressedSize: content.length,
    externalAttributes: (0o100644 << 16) >>> 0,
    offset: 0,
  }));
  return Buffer.concat([body, centralDirectory(entries, body.length)]);
}

function centralDirectory(entries: LaidOutEntry[], offset: number): Buffer {
  const records: Buffer[] = [];
  for (const item of entries) {
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(MADE_ON_UNIX | VERSION, 4);
    record.writeUInt16LE(VERSION, 6);
    record.writeUInt16LE(UTF8_NAMES, 8);
    record.writeUInt16LE(item.method, 10);
    record.writeUInt32LE(item.crc, 16);
    record.writeUInt32LE(item.compressedSize, 20);
    record.writeUInt32LE(item.uncompressedSize, 24);
    record.writeUInt16LE(item.name.length, 28);
    record.writeUInt32LE(item.externalAttributes, 38);
    record.writeUInt32LE(item.offset, 42);
    records.push(record, item.name);
  }
  const directory = Buffer.concat(records);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([directory, end]);
}

/** Writes a zip of `entries` to `file`. */
export async function writeZip(file: string, entries: ZipEntrySpec[]): Promise<void> {
  await writeFile(file, zipBytes(entries));
}
