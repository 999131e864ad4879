/** The source archive kinds the platform accepts. */
export type ArchiveFormat = 'tar.gz' | 'zip';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZIP_LOCAL_FILE_MAGIC = Buffer.from('PK\x03\x04', 'latin1');
/** An empty zip is only an end-of-central-directory record. */
const ZIP_EMPTY_ARCHIVE_MAGIC = Buffer.from('PK\x05\x06', 'latin1');

/**
 * The archive kind announced by the first bytes of a file, or undefined when they are neither a
 * gzip stream nor a zip. A tar.gz is only recognisable as gzip here: that the gzip holds a tar is
 * known once it is read.
 */
export function sniffArchiveFormat(head: Buffer): ArchiveFormat | undefined {
  if (startsWith(head, GZIP_MAGIC)) return 'tar.gz';
  if (startsWith(head, ZIP_LOCAL_FILE_MAGIC) || startsWith(head, ZIP_EMPTY_ARCHIVE_MAGIC)) return 'zip';
  return undefined;
}

function startsWith(head: Buffer, magic: Buffer): boolean {
  return head.length >= magic.length && head.subarray(0, magic.length).equals(magic);
}
