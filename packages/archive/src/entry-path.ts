import { ArchiveRejectedError } from './archive-rejected-error';

/**
 * The safe relative path of an entry: `/`-separated, no empty, `.` or `..` segment, no trailing
 * slash; '' for the archive root itself (`./` in tars made with `tar -C dir .`).
 *
 * Backslashes count as separators: zips written on Windows use them, and treating them as
 * ordinary characters would let `a\..\..\x` through here and be read as a traversal elsewhere.
 * `..` is resolved lexically (`a/../b` is `b`), which is sound because no entry can ever be a link.
 */
export function normalizeEntryPath(rawName: string): string {
  if (rawName.includes('\0')) {
    throw new ArchiveRejectedError(
      'path_traversal',
      rawName,
      'name contains a NUL byte, which can truncate the path; remove the entry and archive again',
    );
  }
  const name = rawName.replaceAll('\\', '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
    throw new ArchiveRejectedError(
      'absolute_path',
      rawName,
      'absolute paths are not allowed; archive the project with paths relative to its root',
    );
  }
  const segments: string[] = [];
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) {
        throw new ArchiveRejectedError('path_traversal', rawName, 'path escapes the archive root; remove it and archive again');
      }
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  return segments.join('/');
}

/** The first segment of a normalized path: the top-level file or folder it lives in. */
export function topLevelName(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? path : path.slice(0, slash);
}

/**
 * Files macOS adds when it archives a folder (resource forks under `__MACOSX/`, AppleDouble `._*`
 * files, Finder's `.DS_Store`). They are read and counted like any entry but never extracted, and
 * they don't count when looking for the project's folder.
 */
export function isMacOsJunk(path: string): boolean {
  if (topLevelName(path) === '__MACOSX') return true;
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base === '.DS_Store' || base.startsWith('._');
}
