import { sniffArchiveFormat } from './archive-format';

describe('sniffArchiveFormat', () => {
  it('recognises gzip and zip magic numbers', () => {
    expect(sniffArchiveFormat(Buffer.from([0x1f, 0x8b, 0x08, 0x00]))).toBe('tar.gz');
    expect(sniffArchiveFormat(Buffer.from('PK\x03\x04rest', 'latin1'))).toBe('zip');
    expect(sniffArchiveFormat(Buffer.from('PK\x05\x06', 'latin1'))).toBe('zip');
  });

  it('recognises nothing else', () => {
    expect(sniffArchiveFormat(Buffer.from('ustar'))).toBeUndefined();
    expect(sniffArchiveFormat(Buffer.from([0x1f]))).toBeUndefined();
    expect(sniffArchiveFormat(Buffer.alloc(0))).toBeUndefined();
  });
});
