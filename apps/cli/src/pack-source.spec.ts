import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import { packSource } from './pack-source';

describe('packSource', () => {
  it('packs a directory without target/, .git/ and what .gitignore ignores', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pack-'));
    const files: Record<string, string> = {
      'Cargo.toml': '[package]\nname = "x"\n',
      'src/lib.rs': '',
      'target/release/big': 'x',
      '.git/HEAD': 'ref',
      '.gitignore': 'secrets.txt\n',
      'secrets.txt': 'no',
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }

    const packed = await packSource(dir);
    const names: string[] = [];
    const out = mkdtempSync(join(tmpdir(), 'unpack-'));
    writeFileSync(join(out, 'a.tgz'), packed.archive);
    await tar.list({ file: join(out, 'a.tgz'), onReadEntry: (entry) => names.push(entry.path) });

    expect(names.sort()).toEqual(['.gitignore', 'Cargo.toml', 'src/lib.rs']);
    expect(packed).toMatchObject({ files: 3, contentType: 'application/gzip', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('refuses a directory without Cargo.toml', async () => {
    await expect(packSource(mkdtempSync(join(tmpdir(), 'empty-')))).rejects.toThrow(/no Cargo.toml/);
  });
});
