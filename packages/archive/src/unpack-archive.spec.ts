import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';
import type { ArchiveFormat } from './archive-format';
import { DEFAULT_ARCHIVE_LIMITS } from './archive-limits';
import { ArchiveRejectedError } from './archive-rejected-error';
import { type SpecEntry, writeArchive } from './test-support/archive-builder';
import { writeTarGz } from './test-support/tar-builder';
import { writeZip } from './test-support/zip-builder';
import { unpackArchive } from './unpack-archive';

const MIB = 1024 * 1024;
const CARGO_TOML = '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n';

let dir: string;
let archive: string;
let dest: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unpack-'));
  archive = join(dir, 'source');
  dest = join(dir, 'dest');
  await mkdir(dest);
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

const modeOf = async (path: string) => (await stat(path)).mode & 0o7777;

describe.each<ArchiveFormat>(['tar.gz', 'zip'])('unpackArchive (%s)', (format) => {
  it('writes files and folders with the platform modes, whatever the archive says', async () => {
    const big = randomBytes(3 * MIB);
    await writeArchive(format, archive, [
      { path: 'Cargo.toml', content: CARGO_TOML, mode: 0o4777 },
      { path: 'src', kind: 'directory', mode: 0o700 },
      { path: 'src/main.rs', content: 'fn main() {}\n', mode: 0o600 },
      { path: 'scripts/build.sh', content: '#!/bin/sh\n', mode: 0o744 },
      { path: 'assets/data.bin', content: big },
    ]);

    const result = await unpackArchive(archive, format, dest);

    expect(result).toMatchObject({ projectRoot: '', projectDir: dest, entries: 5 });
    expect(result.files).toEqual(['Cargo.toml', 'assets/data.bin', 'scripts/build.sh', 'src/main.rs']);
    expect(await readFile(join(dest, 'Cargo.toml'), 'utf8')).toBe(CARGO_TOML);
    expect((await readFile(join(dest, 'assets/data.bin'))).equals(big)).toBe(true);
    expect(await modeOf(join(dest, 'Cargo.toml'))).toBe(0o755);
    expect(await modeOf(join(dest, 'src/main.rs'))).toBe(0o644);
    expect(await modeOf(join(dest, 'scripts/build.sh'))).toBe(0o755);
    expect(await modeOf(join(dest, 'src'))).toBe(0o755);
    expect(await modeOf(join(dest, 'assets'))).toBe(0o755);
  });

  it('points at the single top-level folder and leaves macOS junk out', async () => {
    await writeArchive(format, archive, [
      { path: 'hello/Cargo.toml', content: CARGO_TOML },
      { path: 'hello/src/lib.rs', content: '' },
      { path: 'hello/.DS_Store', content: 'finder' },
      { path: 'hello/src/._lib.rs', content: 'fork' },
      { path: '__MACOSX/', kind: 'directory' },
      { path: '__MACOSX/hello/._Cargo.toml', content: 'fork' },
    ]);

    const result = await unpackArchive(archive, format, dest);

    expect(result.projectRoot).toBe('hello/');
    expect(result.projectDir).toBe(join(dest, 'hello'));
    expect(await readdir(dest)).toEqual(['hello']);
    expect((await readdir(join(dest, 'hello'))).sort()).toEqual(['Cargo.toml', 'src']);
    expect(await readdir(join(dest, 'hello/src'))).toEqual(['lib.rs']);
  });

  it('removes everything it wrote when an entry is refused midway', async () => {
    await writeArchive(format, archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'src/lib.rs', content: 'pub fn a() {}' },
      { path: '../escape', content: 'x' },
    ]);
    expect((await rejection(unpackArchive(archive, format, dest))).reason).toBe('path_traversal');
    expect(await readdir(dest)).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['dest', 'source']);
  });

  it('removes everything when the archive has no Cargo.toml', async () => {
    await writeArchive(format, archive, [{ path: 'src/lib.rs', content: '' }]);
    expect((await rejection(unpackArchive(archive, format, dest))).reason).toBe('no_cargo_toml');
    expect(await readdir(dest)).toEqual([]);
  });

  it('removes everything when the archive breaks off', async () => {
    await writeArchive(format, archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'noise.bin', content: randomBytes(256 * 1024) },
    ]);
    const whole = await readFile(archive);
    await writeFile(archive, whole.subarray(0, whole.length - 64 * 1024));
    expect((await rejection(unpackArchive(archive, format, dest))).reason).toBe('unreadable');
    expect(await readdir(dest)).toEqual([]);
  });

  it('refuses a link, and a path through it writes nothing outside', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    const entries: SpecEntry[] = [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'link', kind: 'symlink', target: outside },
      { path: 'link/planted', content: 'pwned' },
    ];
    await writeArchive(format, archive, entries);
    expect((await rejection(unpackArchive(archive, format, dest))).reason).toBe('link');
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(dest)).toEqual([]);
  });

  it('needs an existing, empty destination', async () => {
    await writeArchive(format, archive, [{ path: 'Cargo.toml', content: CARGO_TOML }]);
    await writeFile(join(dest, 'leftover'), '');
    await expect(unpackArchive(archive, format, dest)).rejects.toThrow(/is not empty/);
    await expect(unpackArchive(archive, format, join(dir, 'missing'))).rejects.toThrow(/not an existing directory/);
    await expect(unpackArchive(archive, format, join(dest, 'leftover'))).rejects.not.toBeInstanceOf(ArchiveRejectedError);
    expect(await readdir(dest)).toEqual(['leftover']);
  });
});

describe('unpackArchive, attacks', () => {
  it('refuses a tar symlink `link -> /etc` followed by `link/passwd`, writing nothing outside', async () => {
    const passwdBefore = await readFile('/etc/passwd', 'utf8');
    await writeTarGz(archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'link', type: 'SymbolicLink', linkpath: '/etc' },
      { path: 'link/passwd', content: 'root::0:0::/root:/bin/sh\n' },
    ]);

    const error = await rejection(unpackArchive(archive, 'tar.gz', dest));

    expect(error).toMatchObject({ reason: 'link', entry: 'link' });
    expect(error.message).toMatch(/^archive entry "link": symbolic links are not allowed/);
    expect(await readFile('/etc/passwd', 'utf8')).toBe(passwdBefore);
    expect(await readdir(dest)).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['dest', 'source']);
  });

  it('stops a zip bomb before writing it, and leaves the destination empty', async () => {
    await writeZip(archive, [
      { name: 'Cargo.toml', content: CARGO_TOML },
      { name: 'zeros', content: Buffer.alloc(50 * MIB) },
    ]);
    const started = Date.now();
    const error = await rejection(unpackArchive(archive, 'zip', dest, { ...DEFAULT_ARCHIVE_LIMITS, maxCompressionRatio: 10 }));
    expect(error).toMatchObject({ reason: 'compression_ratio', entry: 'zeros' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await readdir(dest)).toEqual([]);
  });

  it('stops a gzip bomb while streaming it, and leaves the destination empty', async () => {
    await writeTarGz(archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'zeros', content: Buffer.alloc(50 * MIB) },
    ]);
    const { size } = await stat(archive);
    const started = Date.now();
    const error = await rejection(unpackArchive(archive, 'tar.gz', dest, { ...DEFAULT_ARCHIVE_LIMITS, maxCompressionRatio: 10 }));
    expect(error.reason).toBe('compression_ratio');
    // Stopped once the decompressed stream passed 10 times the archive's size (or the 1 MiB floor), not at 50 MiB.
    const decompressed = Number(/unpack to more than (\d+)/.exec(error.message)?.[1]);
    expect(decompressed).toBeLessThan(Math.max(10 * size, MIB) + 256 * 1024);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await readdir(dest)).toEqual([]);
  });

  it('stops a file larger than allowed while writing it', async () => {
    await writeTarGz(archive, [
      { path: 'Cargo.toml', content: CARGO_TOML },
      { path: 'noise', content: randomBytes(2 * MIB) },
    ]);
    const error = await rejection(unpackArchive(archive, 'tar.gz', dest, { ...DEFAULT_ARCHIVE_LIMITS, maxEntryBytes: MIB }));
    expect(error).toMatchObject({ reason: 'entry_too_large', entry: 'noise' });
    expect(await readdir(dest)).toEqual([]);
  });
});

describe('unpackArchive, archives made by tools', () => {
  it('unpacks a tar.gz written by node-tar from a real folder (with its `./` root entry)', async () => {
    const project = join(dir, 'project');
    await mkdir(join(project, 'src'), { recursive: true });
    await writeFile(join(project, 'Cargo.toml'), CARGO_TOML);
    await writeFile(join(project, 'src/lib.rs'), 'pub fn a() {}\n');
    await tar.c({ gzip: true, cwd: project, file: archive, portable: true }, ['.']);

    const result = await unpackArchive(archive, 'tar.gz', dest);

    expect(result.projectRoot).toBe('');
    expect(result.files).toEqual(['Cargo.toml', 'src/lib.rs']);
    expect(await readFile(join(dest, 'src/lib.rs'), 'utf8')).toBe('pub fn a() {}\n');
  });
});
