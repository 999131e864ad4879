import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ArchiveFormat } from './archive-format';
import { type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS } from './archive-limits';
import { ArchiveRejectedError } from './archive-rejected-error';
import { inspectArchive } from './inspect-archive';
import { type SpecEntry, writeArchive } from './test-support/archive-builder';
import { tarBytes, writeTarGz } from './test-support/tar-builder';
import { overlappingZipBytes, writeZip, zipBytes } from './test-support/zip-builder';

const MIB = 1024 * 1024;
const CARGO_TOML = '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n';
const project: SpecEntry[] = [
  { path: 'Cargo.toml', content: CARGO_TOML },
  { path: 'src', kind: 'directory' },
  { path: 'src/lib.rs', content: '#[ignite::main]\nasync fn handler() {}\n' },
];

let dir: string;
let archive: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inspect-'));
  archive = join(dir, 'source');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<ArchiveRejectedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ArchiveRejectedError) return error;
    throw error;
  }
  throw new Error('the archive was accepted');
}

describe.each<ArchiveFormat>(['tar.gz', 'zip'])('inspectArchive (%s)', (format) => {
  async function inspect(entries: SpecEntry[], limits?: ArchiveLimits) {
    await writeArchive(format, archive, entries);
    return inspectArchive(archive, format, limits);
  }

  it('summarizes a project at the archive root, and writes nothing', async () => {
    const summary = await inspect([...project, { path: 'src/util.rs', content: 'pub fn x() {}\n' }]);
    expect(summary).toEqual({
      entries: 4,
      totalBytes: CARGO_TOML.length + '#[ignite::main]\nasync fn handler() {}\n'.length + 'pub fn x() {}\n'.length,
      projectRoot: '',
      files: ['Cargo.toml', 'src/lib.rs', 'src/util.rs'],
    });
    expect(await readdir(dir)).toEqual(['source']);
  });

  it('takes a single top-level folder holding Cargo.toml as the project, ignoring macOS junk', async () => {
    const summary = await inspect([
      ...project.map((entry) => ({ ...entry, path: `hello/${entry.path}` })),
      { path: 'hello/.DS_Store', content: 'finder' },
      { path: '__MACOSX/hello/._Cargo.toml', content: 'fork' },
      { path: '._hello', content: 'fork' },
    ]);
    expect(summary.projectRoot).toBe('hello/');
    expect(summary.files).toEqual(['hello/Cargo.toml', 'hello/src/lib.rs']);
    expect(summary.entries).toBe(6);
  });

  it.each<[string, SpecEntry[]]>([
    ['no Cargo.toml at all', [{ path: 'src/lib.rs', content: '' }]],
    ['Cargo.toml two folders down', [{ path: 'a/b/Cargo.toml', content: CARGO_TOML }]],
    [
      'two top-level folders',
      [
        { path: 'a/Cargo.toml', content: CARGO_TOML },
        { path: 'b/Cargo.toml', content: CARGO_TOML },
      ],
    ],
    [
      'a folder with Cargo.toml next to a root file',
      [
        { path: 'a/Cargo.toml', content: CARGO_TOML },
        { path: 'README.md', content: '' },
      ],
    ],
    ['a Cargo.toml folder', [{ path: 'Cargo.toml/x', content: '' }]],
  ])('refuses %s (no_cargo_toml)', async (_case, entries) => {
    const error = await rejection(inspect(entries));
    expect(error.reason).toBe('no_cargo_toml');
    expect(error.entry).toBeUndefined();
    expect(error.message).toMatch(/so that Cargo\.toml is at the root, or inside a single top-level folder/);
  });

  it.each(['/etc/cron.d/x', 'C:\\Windows\\x', '\\share\\x'])('refuses the absolute path %j', async (path) => {
    const error = await rejection(inspect([...project, { path, content: 'x' }]));
    expect(error).toMatchObject({ reason: 'absolute_path', entry: path });
  });

  it.each(['../x', 'a/../../x', 'src/../../x'])('refuses %j, which escapes the root', async (path) => {
    const error = await rejection(inspect([...project, { path, content: 'x' }]));
    expect(error).toMatchObject({ reason: 'path_traversal', entry: path });
    expect(error.message).toBe(`archive entry ${JSON.stringify(path)}: path escapes the archive root; remove it and archive again`);
  });

  it('accepts `..` that stays inside the root', async () => {
    const summary = await inspect([{ path: 'src/../Cargo.toml', content: CARGO_TOML }]);
    expect(summary.files).toEqual(['Cargo.toml']);
  });

  it('refuses a symbolic link', async () => {
    const error = await rejection(inspect([...project, { path: 'src/data', kind: 'symlink', target: '/etc/passwd' }]));
    expect(error).toMatchObject({ reason: 'link', entry: 'src/data' });
    expect(error.message).toMatch(/symbolic links are not allowed; replace the link with a copy/);
  });

  it.each<['fifo' | 'character-device', RegExp]>([
    ['fifo', /is a FIFO/],
    ['character-device', /is a character device/],
  ])('refuses a %s', async (kind, message) => {
    const error = await rejection(inspect([...project, { path: 'dev', kind }]));
    expect(error).toMatchObject({ reason: 'special_file', entry: 'dev' });
    expect(error.message).toMatch(message);
  });

  it('refuses more entries than allowed', async () => {
    const error = await rejection(inspect(project, { ...DEFAULT_ARCHIVE_LIMITS, maxEntries: 2 }));
    expect(error.reason).toBe('too_many_entries');
    expect(error.message).toMatch(/more than 2 entries/);
  });

  it('refuses a file larger than allowed', async () => {
    const error = await rejection(
      inspect([...project, { path: 'big.bin', content: Buffer.alloc(2048, 7) }], { ...DEFAULT_ARCHIVE_LIMITS, maxEntryBytes: 1024 }),
    );
    expect(error).toMatchObject({ reason: 'entry_too_large', entry: 'big.bin' });
  });

  it('refuses files that add up to more than allowed', async () => {
    const files = ['a', 'b', 'c'].map((name) => ({ path: name, content: Buffer.alloc(1000, 1) }));
    const error = await rejection(inspect([...project, ...files], { ...DEFAULT_ARCHIVE_LIMITS, maxTotalBytes: 2500 }));
    expect(error).toMatchObject({ reason: 'total_too_large', entry: 'c' });
  });

  it.each<[string, SpecEntry[]]>([
    ['the same file twice', [{ path: 'src/lib.rs', content: 'again' }]],
    ['the same file under another spelling', [{ path: './src//lib.rs', content: 'again' }]],
    ['a file where a folder is', [{ path: 'src', content: 'not a folder' }]],
    ['a folder where a file is', [{ path: 'Cargo.toml/inner', content: '' }]],
  ])('refuses %s', async (_case, extra) => {
    const error = await rejection(inspect([...project, ...extra]));
    expect(error.reason).toBe('duplicate_entry');
  });

  it('accepts a folder listed twice', async () => {
    const summary = await inspect([...project, { path: 'src/', kind: 'directory' }]);
    expect(summary.files).toEqual(['Cargo.toml', 'src/lib.rs']);
  });

  it('refuses a file that is not an archive at all', async () => {
    await writeFile(archive, 'just text, not an archive');
    const error = await rejection(inspectArchive(archive, format));
    expect(error.reason).toBe('unreadable');
    expect(error.message).toContain(`not a valid ${format}`);
  });

  it('refuses an archive of the other kind', async () => {
    await writeArchive(format === 'zip' ? 'tar.gz' : 'zip', archive, project);
    const error = await rejection(inspectArchive(archive, format));
    expect(error.reason).toBe('unreadable');
    expect(error.message).toMatch(new RegExp(`not a valid ${format.replace('.', '\\.')} \\(it looks like a (zip|tar\\.gz)\\)`));
  });

  it('refuses a truncated archive', async () => {
    await writeArchive(format, archive, [...project, { path: 'data.bin', content: Buffer.alloc(64 * 1024, 3) }]);
    const whole = await import('node:fs/promises').then((fs) => fs.readFile(archive));
    await writeFile(archive, whole.subarray(0, Math.floor(whole.length / 2)));
    const error = await rejection(inspectArchive(archive, format));
    expect(error.reason).toBe('unreadable');
  });
});

describe('inspectArchive, what only a tar can say', () => {
  it('refuses a hard link', async () => {
    await writeTarGz(archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'copy', type: 'Link', linkpath: 'Cargo.toml' },
    ]);
    const error = await rejection(inspectArchive(archive, 'tar.gz'));
    expect(error).toMatchObject({ reason: 'link', entry: 'copy' });
    expect(error.message).toMatch(/hard links are not allowed/);
  });

  it.each(['BlockDevice', 'SparseFile'] as const)('refuses a %s entry', async (type) => {
    await writeTarGz(archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'odd', type },
    ]);
    const error = await rejection(inspectArchive(archive, 'tar.gz'));
    expect(error).toMatchObject({ reason: 'special_file', entry: 'odd' });
  });

  it('reads a name longer than a ustar header holds, from its pax header', async () => {
    const longPath = `src/${'nested/'.repeat(20)}deep.rs`;
    await writeTarGz(archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: longPath, content: 'fn deep() {}', paxPath: true },
    ]);
    expect((await inspectArchive(archive, 'tar.gz')).files).toEqual(['Cargo.toml', longPath]);
  });

  it('refuses a gzip that holds no tar', async () => {
    await writeFile(archive, gzipSync('fn main() {}\n'));
    const error = await rejection(inspectArchive(archive, 'tar.gz'));
    expect(error.reason).toBe('unreadable');
    expect(error.message).toMatch(/^archive: not a valid tar\.gz \(.*Unrecognized archive format\)/);
  });

  it('refuses a tar compressed twice', async () => {
    await writeFile(archive, gzipSync(gzipSync(tarBytes([{ path: 'Cargo.toml', content: CARGO_TOML }]))));
    const error = await rejection(inspectArchive(archive, 'tar.gz'));
    expect(error.reason).toBe('unreadable');
    expect(error.message).toMatch(/compressed a second time/);
  });

  it('refuses a gzip bomb while decompressing it', async () => {
    await writeTarGz(archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'zeros', content: Buffer.alloc(50 * MIB) },
    ]);
    const started = Date.now();
    const error = await rejection(inspectArchive(archive, 'tar.gz'));
    expect(error.reason).toBe('compression_ratio');
    expect(error.message).toMatch(/decompression bomb/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('inspectArchive, what only a zip can say', () => {
  it('refuses an entry whose header lies about its size', async () => {
    await writeZip(archive, [
      { name: 'Cargo.toml', content: CARGO_TOML },
      { name: 'liar', content: Buffer.alloc(4096, 1), declaredSize: 10 },
    ]);
    const error = await rejection(inspectArchive(archive, 'zip'));
    expect(error.reason).toBe('unreadable');
  });

  it('refuses an entry whose compression ratio is too high, from its header', async () => {
    await writeZip(archive, [
      { name: 'Cargo.toml', content: CARGO_TOML },
      { name: 'zeros', content: Buffer.alloc(8 * MIB) },
    ]);
    const error = await rejection(inspectArchive(archive, 'zip'));
    expect(error).toMatchObject({ reason: 'compression_ratio', entry: 'zeros' });
  });

  it('refuses entries that share their compressed data, on the bytes they unpack to', async () => {
    // Random bytes do not compress: each entry's own ratio is about 1, the archive's is 20.
    const { randomBytes } = await import('node:crypto');
    const names = Array.from({ length: 20 }, (_, index) => `copy-${index}`);
    await writeFile(archive, overlappingZipBytes(randomBytes(256 * 1024), ['Cargo.toml', ...names]));
    const error = await rejection(inspectArchive(archive, 'zip', { ...DEFAULT_ARCHIVE_LIMITS, maxCompressionRatio: 4 }));
    expect(error.reason).toBe('compression_ratio');
    expect(error.entry).toBeUndefined();
  });

  it('refuses a NUL byte in a name (a tar cannot carry one: node-tar cuts pax values at NUL)', async () => {
    await writeZip(archive, [
      { name: 'Cargo.toml', content: CARGO_TOML },
      { name: 'src/evil\0/../../x', content: 'x' },
    ]);
    const error = await rejection(inspectArchive(archive, 'zip'));
    expect(error).toMatchObject({ reason: 'path_traversal', entry: 'src/evil\0/../../x' });
    expect(error.message).toMatch(/^archive entry "src\/evil\\u0000\/..\/..\/x": name contains a NUL byte/);
  });

  it('takes backslashes as folder separators', async () => {
    await writeZip(archive, [
      { name: 'Cargo.toml', content: CARGO_TOML },
      { name: 'src\\lib.rs', content: '' },
    ]);
    expect((await inspectArchive(archive, 'zip')).files).toEqual(['Cargo.toml', 'src/lib.rs']);
  });

  it('reads an empty zip as an archive without Cargo.toml', async () => {
    await writeFile(archive, zipBytes([]));
    expect((await rejection(inspectArchive(archive, 'zip'))).reason).toBe('no_cargo_toml');
  });
});
