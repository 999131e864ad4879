import { ArchiveRejectedError } from './archive-rejected-error';
import { isMacOsJunk, normalizeEntryPath } from './entry-path';

function rejectionOf(name: string): ArchiveRejectedError {
  try {
    normalizeEntryPath(name);
  } catch (error) {
    if (error instanceof ArchiveRejectedError) return error;
    throw error;
  }
  throw new Error(`${JSON.stringify(name)} was accepted`);
}

describe('normalizeEntryPath', () => {
  it.each([
    ['src/main.rs', 'src/main.rs'],
    ['./src/main.rs', 'src/main.rs'],
    ['src//lib.rs', 'src/lib.rs'],
    ['src/', 'src'],
    ['./', ''],
    ['a/../Cargo.toml', 'Cargo.toml'],
    ['src\\main.rs', 'src/main.rs'],
  ])('%j is %j', (name, expected) => {
    expect(normalizeEntryPath(name)).toBe(expected);
  });

  it.each(['/etc/passwd', 'C:\\Windows\\x', 'c:relative', '\\server\\share'])('refuses the absolute path %j', (name) => {
    const error = rejectionOf(name);
    expect(error.reason).toBe('absolute_path');
    expect(error.entry).toBe(name);
  });

  it.each(['../x', 'a/../../x', 'a\\..\\..\\x', '..'])('refuses %j, which escapes the root', (name) => {
    const error = rejectionOf(name);
    expect(error.reason).toBe('path_traversal');
    expect(error.message).toBe(`archive entry ${JSON.stringify(name)}: path escapes the archive root; remove it and archive again`);
  });

  it('refuses a NUL byte', () => {
    expect(rejectionOf('Cargo.toml\0.txt').message).toMatch(/NUL byte/);
  });
});

describe('isMacOsJunk', () => {
  it.each(['__MACOSX/proj/._Cargo.toml', '__MACOSX', 'proj/.DS_Store', '.DS_Store', 'proj/src/._lib.rs'])('%j is junk', (path) => {
    expect(isMacOsJunk(path)).toBe(true);
  });

  it.each(['proj/Cargo.toml', 'src/.hidden', 'src/a._b'])('%j is not', (path) => {
    expect(isMacOsJunk(path)).toBe(false);
  });
});
