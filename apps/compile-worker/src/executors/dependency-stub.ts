import { copyFile, mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';

/**
 * The "dependencies first" half of a build (the cargo-chef idea): a copy of the project whose own
 * packages are empty stubs — the same manifests and Cargo.lock, every target's source file
 * replaced by an empty library or `fn main() {}`, the build script by `fn main() {}` — so that
 * `cargo build` of it compiles exactly the dependency units the real build will use (same
 * features, profile, target, hence the same unit hashes) while running none of the tenant's code.
 * Only crates.io packages and the bundled SDK are built that way; a project whose graph has
 * anything else (a git dependency, a path outside the project, a `[patch]` making a registry crate
 * depend on the project's own code) is not stubbed at all: its dependencies are built with it, in
 * its private layer.
 */

/** What the worker reads of `cargo metadata --format-version 1`. */
export interface CargoMetadata {
  packages: Array<{
    id: string;
    name: string;
    version: string;
    source: string | null;
    manifest_path: string;
    targets: Array<{ name: string; kind: string[]; src_path: string }>;
  }>;
  resolve: { nodes: Array<{ id: string; deps: Array<{ pkg: string }> }> } | null;
}

export const CRATES_IO_SOURCE = 'registry+https://github.com/rust-lang/crates.io-index';

export type DependencyStub =
  | {
      kind: 'stub';
      /** Files copied as they are, relative to the project: its packages' manifests and Cargo.lock. */
      copies: string[];
      /** Files written, relative to the project: every target's source, as a stub. */
      stubs: Map<string, string>;
      counts: { registry: number; sdk: number; own: number };
    }
  | { kind: 'skip'; reason: string };

const LIBRARY_KINDS = new Set(['lib', 'rlib', 'dylib', 'cdylib', 'staticlib', 'proc-macro']);

/** Decides whether the project can be stubbed, and what the stub is. Pure. */
export function planDependencyStub(metadata: CargoMetadata, dirs: { projectDir: string; sdkDir: string }): DependencyStub {
  const kinds = new Map<string, 'registry' | 'sdk' | 'own'>();
  const copies = ['Cargo.lock'];
  const stubs = new Map<string, string>();
  const counts = { registry: 0, sdk: 0, own: 0 };
  for (const pkg of metadata.packages) {
    const label = `${pkg.name} ${pkg.version}`;
    if (pkg.source === CRATES_IO_SOURCE) {
      kinds.set(pkg.id, 'registry');
      counts.registry++;
      continue;
    }
    if (pkg.source !== null) return { kind: 'skip', reason: `${label} comes from ${pkg.source.split('#')[0]}, not crates.io` };
    if (isInside(pkg.manifest_path, dirs.sdkDir)) {
      kinds.set(pkg.id, 'sdk');
      counts.sdk++;
      continue;
    }
    const manifest = inside(pkg.manifest_path, dirs.projectDir);
    if (manifest === undefined) return { kind: 'skip', reason: `${label} is a path dependency outside the project` };
    kinds.set(pkg.id, 'own');
    counts.own++;
    copies.push(manifest);
    for (const target of pkg.targets) {
      const source = inside(target.src_path, dirs.projectDir);
      if (source === undefined) return { kind: 'skip', reason: `${label}'s target ${target.name} has its source outside the project` };
      // A library's stub is empty; a program's (bin, build script, example, test, bench) is an empty main.
      stubs.set(source, target.kind.every((kind) => LIBRARY_KINDS.has(kind)) ? '' : 'fn main() {}\n');
    }
  }
  for (const node of metadata.resolve?.nodes ?? []) {
    const kind = kinds.get(node.id);
    if (kind === 'own') continue;
    for (const dep of node.deps) {
      if (kinds.get(dep.pkg) === 'own') {
        return {
          kind: 'skip',
          reason: `${node.id.split('#').pop()} depends on the project's own ${dep.pkg.split('#').pop()} (a [patch]?)`,
        };
      }
    }
  }
  return { kind: 'stub', copies, stubs, counts };
}

/** Writes the stub of `projectDir` into `stubDir` (empty or absent). */
export async function writeDependencyStub(
  stub: Extract<DependencyStub, { kind: 'stub' }>,
  projectDir: string,
  stubDir: string,
): Promise<void> {
  for (const path of stub.copies) {
    await mkdir(dirname(join(stubDir, path)), { recursive: true });
    await copyFile(join(projectDir, path), join(stubDir, path));
  }
  for (const [path, content] of stub.stubs) {
    await mkdir(dirname(join(stubDir, path)), { recursive: true });
    await writeFile(join(stubDir, path), content);
  }
}

/**
 * Sets the modification time of everything under `dir` to now. The stub's own units have the
 * very unit hashes of the project's (same name, version, features, path relative to the
 * workspace), and cargo decides a path package is fresh by comparing its sources' mtimes with
 * its last build's: the project's sources, written before the stub was built, would look older
 * than the stub's outputs and the empty stub would be taken for the project. Touched after the
 * stub build, they are newer, so cargo compiles them.
 */
export async function touchTree(dir: string, now = new Date()): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await touchTree(path, now);
    else if (entry.isFile()) await utimes(path, now, now);
  }
  await utimes(dir, now, now);
}

function isInside(path: string, dir: string): boolean {
  return inside(path, dir) !== undefined;
}

/** `path` relative to `dir` when it is inside it, else undefined. */
function inside(path: string, dir: string): string | undefined {
  const rel = relative(dir, path);
  if (rel === '' || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`)) return undefined;
  return rel;
}
