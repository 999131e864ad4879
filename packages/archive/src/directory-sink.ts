import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EntrySink } from './entry-sink';

const FILE_MODE = 0o644;
const EXECUTABLE_FILE_MODE = 0o755;
const DIRECTORY_MODE = 0o755;
/** Create only: never open something that exists, never through a symlink. */
const CREATE_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Writes accepted entries under a directory that starts empty. Every directory on the way to a
 * file is one this sink created (never one that was there), no link is ever created, and files
 * are opened with O_EXCL | O_NOFOLLOW: so with paths already normalized, nothing can land outside
 * the root whatever the archive holds. Modes are the platform's, never the archive's.
 */
export class DirectorySink implements EntrySink {
  private readonly createdDirectories = new Set<string>(['']);

  private constructor(readonly root: string) {}

  /** `destDir` must exist and be empty. */
  static async open(destDir: string): Promise<DirectorySink> {
    const root = resolve(destDir);
    const info = await stat(root).catch(() => undefined);
    if (!info?.isDirectory()) throw new Error(`cannot unpack into ${root}: it is not an existing directory`);
    if ((await readdir(root)).length > 0) throw new Error(`cannot unpack into ${root}: it is not empty`);
    return new DirectorySink(root);
  }

  async directory(path: string): Promise<void> {
    await this.ensureDirectory(path);
  }

  async file(path: string, executable: boolean, content: AsyncIterable<Buffer>): Promise<void> {
    const slash = path.lastIndexOf('/');
    await this.ensureDirectory(slash === -1 ? '' : path.slice(0, slash));
    const mode = executable ? EXECUTABLE_FILE_MODE : FILE_MODE;
    const handle = await open(join(this.root, path), CREATE_FILE_FLAGS, mode);
    try {
      await handle.writeFile(content);
      // The umask may have cleared bits of `mode` at creation.
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
  }

  /** Removes everything written, leaving the root itself in place and empty. */
  async clear(): Promise<void> {
    for (const name of await readdir(this.root)) {
      await rm(join(this.root, name), { recursive: true, force: true });
    }
  }

  private async ensureDirectory(path: string): Promise<void> {
    if (this.createdDirectories.has(path)) return;
    const segments = path.split('/');
    for (let depth = 1; depth <= segments.length; depth++) {
      const directory = segments.slice(0, depth).join('/');
      if (this.createdDirectories.has(directory)) continue;
      const absolute = join(this.root, directory);
      // Not recursive: an existing path here would be one this sink did not create, so fail on it.
      await mkdir(absolute, { mode: DIRECTORY_MODE });
      await chmod(absolute, DIRECTORY_MODE);
      this.createdDirectories.add(directory);
    }
  }
}
