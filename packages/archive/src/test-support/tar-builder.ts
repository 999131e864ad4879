import { writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData, Pax } from 'tar';

/** One entry of a hand-made tar: any header node-tar can encode, including ones `tar -c` would never write. */
export interface TarEntrySpec {
  path: string;
  type?: HeaderData['type'];
  content?: Buffer | string;
  mode?: number;
  linkpath?: string;
  /** Put the path in a pax extended header instead (to carry names a ustar header cannot). */
  paxPath?: boolean;
}

const BLOCK = 512;

/** The bytes of a tar holding `entries`, in order, with the end-of-archive marker. */
export function tarBytes(entries: TarEntrySpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const content = Buffer.from(entry.content ?? '');
    const type = entry.type ?? 'File';
    const data: HeaderData = {
      path: entry.paxPath ? 'pax-named-entry' : entry.path,
      type,
      size: type === 'File' ? content.length : 0,
      mode: entry.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(entry.linkpath === undefined ? {} : { linkpath: entry.linkpath }),
    };
    if (entry.paxPath) blocks.push(new Pax({ path: entry.path }).encode());
    const header = new Header(data);
    header.encode();
    blocks.push(header.block as Buffer);
    if (content.length > 0) blocks.push(content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
  }
  blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}

/** Writes a tar.gz of `entries` to `file`. */
export async function writeTarGz(file: string, entries: TarEntrySpec[]): Promise<void> {
  await writeFile(file, gzipSync(tarBytes(entries)));
}
