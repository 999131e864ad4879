import { ArchiveRejectedError } from './archive-rejected-error';

export type LayoutKind = 'file' | 'directory';

/**
 * The tree an archive describes, built entry by entry: it refuses a path that would be written
 * twice (or be a file and a directory at once) before anything is written for it.
 */
export class ArchiveLayout {
  private readonly kinds = new Map<string, LayoutKind>();

  /** `path` is normalized; `rawName` is the entry's name, for the message. */
  add(rawName: string, path: string, kind: LayoutKind): void {
    const segments = path.split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const ancestor = segments.slice(0, depth).join('/');
      if (this.kinds.get(ancestor) === 'file')
        throw duplicate(rawName, `"${ancestor}" is a file in this archive, so it cannot also be a folder`);
      this.kinds.set(ancestor, 'directory');
    }
    const existing = this.kinds.get(path);
    // A folder may be listed more than once (tars appended to, folders both implied and explicit): writing it twice is harmless.
    if (existing === 'directory' && kind === 'directory') return;
    if (existing !== undefined) {
      throw duplicate(rawName, existing === kind ? `"${path}" appears more than once` : `"${path}" is both a file and a folder`);
    }
    this.kinds.set(path, kind);
  }

  kindOf(path: string): LayoutKind | undefined {
    return this.kinds.get(path);
  }

  /** Every path, files and folders, in the order first seen. */
  paths(): string[] {
    return [...this.kinds.keys()];
  }

  /** The regular files, sorted. */
  files(): string[] {
    return [...this.kinds.entries()]
      .filter(([, kind]) => kind === 'file')
      .map(([path]) => path)
      .sort();
  }
}

function duplicate(rawName: string, why: string): ArchiveRejectedError {
  return new ArchiveRejectedError('duplicate_entry', rawName, `${why}; archive the project again so that each path is stored once`);
}
