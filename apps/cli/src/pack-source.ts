import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import ignore from 'ignore';
import * as tar from 'tar';

export interface PackedSource {
  archive: Buffer;
  contentType: 'application/gzip' | 'application/zip';
  files: number;
  size: number;
  sha256: string;
}

/** Always left out of a packed directory: build output and version control. */
const ALWAYS_IGNORED = ['target/', '.git/'];

/** The files of a project directory as `draft save` uploads them (and `dev` builds them), relative, sorted. */
export async function sourceFiles(root: string): Promise<string[]> {
  const rules = ignore().add(ALWAYS_IGNORED);
  const gitignore = join(root, '.gitignore');
  if (existsSync(gitignore)) rules.add(readFileSync(gitignore, 'utf8'));
  const files: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      if (entry.isDirectory()) {
        if (!rules.ignores(`${rel}/`)) await walk(path);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !rules.ignores(rel)) {
        files.push(rel);
      }
    }
  };
  await walk(root);
  return files.sort();
}

function describe(archive: Buffer, contentType: PackedSource['contentType'], files: number): PackedSource {
  return { archive, contentType, files, size: archive.length, sha256: createHash('sha256').update(archive).digest('hex') };
}

/**
 * `--code DIR` packs the directory as tar.gz (leaving out target/, .git/ and what .gitignore
 * ignores); `--code FILE.tar.gz|FILE.zip` sends the archive as it is.
 */
export async function packSource(path: string): Promise<PackedSource> {
  if (!existsSync(path)) throw new Error(`--code ${path}: no such file or directory`);
  if (statSync(path).isFile()) {
    const name = basename(path).toLowerCase();
    const archive = readFileSync(path);
    if (name.endsWith('.zip')) return describe(archive, 'application/zip', 0);
    if (name.endsWith('.tar.gz') || name.endsWith('.tgz')) return describe(archive, 'application/gzip', 0);
    throw new Error(`--code ${path}: an archive must be .tar.gz, .tgz or .zip (or pass the project directory)`);
  }
  const files = await sourceFiles(path);
  if (!files.includes('Cargo.toml'))
    throw new Error(`--code ${path}: no Cargo.toml in that directory; point --code at the function's project`);
  const chunks: Buffer[] = [];
  for await (const chunk of tar.create({ gzip: true, cwd: path, portable: true, noDirRecurse: true }, files)) chunks.push(chunk as Buffer);
  return describe(Buffer.concat(chunks), 'application/gzip', files.length);
}
