import { cp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { dependencyTables, isTable, parseCargoManifest, type TomlTable } from '@ignite/function-manifest';
import { stringify } from 'smol-toml';
import * as tar from 'tar';

export interface SdkLocation {
  /** The SDK crate on the worker, as the prepared Cargo.toml references it (IGNITE_SDK_PATH). */
  onWorker: string;
  /** The SDK crate in the compile image (K8S_SDK_PATH_IN_IMAGE). */
  inImage: string;
}

/** Top-level entries never shipped to the build pod: build output and version control. */
const SKIPPED = new Set(['target', '.git']);

/**
 * Rewrites, in a parsed Cargo.toml, every path dependency (and `[patch]` entry) into the worker's
 * SDK workspace so that it points at the same crate in the image: `<sdk workspace on the worker>/x`
 * becomes `<sdk workspace in the image>/x`. Returns what was rewritten, for the build log.
 */
export function rewriteSdkPaths(manifest: TomlTable, sdk: SdkLocation): string[] {
  const fromRoot = resolve(dirname(sdk.onWorker));
  const toRoot = dirname(sdk.inImage);
  const rewritten: string[] = [];
  const tables = dependencyTables(manifest).map(({ label, entries }) => ({ label, entries }));
  if (isTable(manifest.patch)) {
    for (const [source, entries] of Object.entries(manifest.patch)) {
      if (isTable(entries)) tables.push({ label: `[patch.${source}]`, entries });
    }
  }
  for (const { label, entries } of tables) {
    for (const [key, spec] of Object.entries(entries)) {
      // The platform writes absolute paths; a relative one is the user's own (inside the project).
      if (!isTable(spec) || typeof spec.path !== 'string' || !isAbsolute(spec.path)) continue;
      const from = resolve(spec.path);
      const inside = relative(fromRoot, from);
      if (inside === '' || inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) continue;
      const to = `${toRoot}/${inside.split(sep).join('/')}`;
      spec.path = to;
      rewritten.push(`${label} ${key}: path ${from} → ${to}`);
    }
  }
  return rewritten;
}

/**
 * Packs the prepared project as the build pod's context: a tar.gz of `projectDir` (without
 * `target/` and `.git/`), its Cargo.toml pointing at the SDK inside the image. The project is copied
 * to `stagingDir` first, so the prepared project itself is left as it is.
 */
export async function packBuildContext(
  projectDir: string,
  outputFile: string,
  options: { stagingDir: string; sdk: SdkLocation },
): Promise<{ bytes: number; rewritten: string[] }> {
  const { stagingDir } = options;
  await rm(stagingDir, { recursive: true, force: true });
  try {
    await cp(projectDir, stagingDir, {
      recursive: true,
      verbatimSymlinks: true,
      filter: (source) => {
        const inside = relative(projectDir, source);
        return !SKIPPED.has(inside.split(sep)[0] ?? '');
      },
    });
    const manifestPath = join(stagingDir, 'Cargo.toml');
    const manifest = parseCargoManifest(await readFile(manifestPath, 'utf8'));
    const rewritten = rewriteSdkPaths(manifest, options.sdk);
    await writeFile(manifestPath, stringify(manifest));
    await tar.create({ gzip: true, cwd: stagingDir, portable: true, file: outputFile }, ['.']);
    return { bytes: (await stat(outputFile)).size, rewritten };
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
  }
}
