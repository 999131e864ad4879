import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCargoManifest } from '@ignite/function-manifest';
import * as tar from 'tar';
import { packBuildContext, rewriteSdkPaths } from './build-context';

const sdk = { onWorker: '/srv/ignite/sdk/ignite-rs/ignite', inImage: '/opt/ignite/sdk/ignite-rs/ignite' };

describe('the build context', () => {
  it('points every path into the worker’s SDK workspace at the image’s, and nothing else', () => {
    const manifest = parseCargoManifest(`
[package]
name = "fn"
version = "0.1.0"

[dependencies]
ignite = { path = "/srv/ignite/sdk/ignite-rs/ignite", features = ["x"] }
shared = { path = "../shared" }
elsewhere = { path = "/srv/other/crate" }
serde = "1"

[target.'cfg(unix)'.dev-dependencies]
ignite = { path = "/srv/ignite/sdk/ignite-rs/ignite/" }

[patch.crates-io]
ignite-macros = { path = "/srv/ignite/sdk/ignite-rs/ignite-macros" }
sibling = { path = "/srv/ignite/sdk/ignite-rs-other/x" }
`);
    const notes = rewriteSdkPaths(manifest, sdk);
    const dependencies = manifest.dependencies as Record<string, { path?: string; features?: string[] }>;
    expect(dependencies.ignite).toEqual({ path: '/opt/ignite/sdk/ignite-rs/ignite', features: ['x'] });
    expect(dependencies.shared?.path).toBe('../shared');
    expect(dependencies.elsewhere?.path).toBe('/srv/other/crate');
    const target = manifest.target as Record<string, Record<string, Record<string, { path: string }>>>;
    expect(target['cfg(unix)']?.['dev-dependencies']?.ignite?.path).toBe('/opt/ignite/sdk/ignite-rs/ignite');
    const patch = (manifest.patch as Record<string, Record<string, { path: string }>>)['crates-io']!;
    expect(patch['ignite-macros']?.path).toBe('/opt/ignite/sdk/ignite-rs/ignite-macros');
    expect(patch.sibling?.path).toBe('/srv/ignite/sdk/ignite-rs-other/x');
    expect(notes).toEqual([
      '[dependencies] ignite: path /srv/ignite/sdk/ignite-rs/ignite → /opt/ignite/sdk/ignite-rs/ignite',
      "[target.'cfg(unix)'.dev-dependencies] ignite: path /srv/ignite/sdk/ignite-rs/ignite → /opt/ignite/sdk/ignite-rs/ignite",
      '[patch.crates-io] ignite-macros: path /srv/ignite/sdk/ignite-rs/ignite-macros → /opt/ignite/sdk/ignite-rs/ignite-macros',
    ]);
  });

  it('packs the project without target/ and .git/, and leaves the project as it was', async () => {
    const root = await mkdtemp(join(tmpdir(), 'context-'));
    try {
      const project = join(root, 'project');
      const original = `[package]\nname = "fn"\nversion = "0.1.0"\n\n[dependencies]\nignite = { path = "${sdk.onWorker}" }\n`;
      for (const [path, content] of Object.entries({
        'Cargo.toml': original,
        'src/lib.rs': 'pub fn f() {}\n',
        'target/release/junk': 'x',
        '.git/HEAD': 'ref: refs/heads/main\n',
        'assets/target/kept.txt': 'nested target/ directories are the user’s',
      })) {
        await mkdir(join(project, path, '..'), { recursive: true });
        await writeFile(join(project, path), content);
      }
      const file = join(root, 'context.tar.gz');
      const packed = await packBuildContext(project, file, { stagingDir: join(root, 'staging'), sdk });
      expect(packed.bytes).toBeGreaterThan(0);
      expect(packed.rewritten).toHaveLength(1);

      const entries: string[] = [];
      await tar.list({ file, onReadEntry: (entry) => entries.push(entry.path) });
      expect(entries.filter((entry) => !entry.endsWith('/')).sort()).toEqual(['./Cargo.toml', './assets/target/kept.txt', './src/lib.rs']);
      const out = join(root, 'out');
      await mkdir(out);
      await tar.extract({ file, cwd: out });
      expect(parseCargoManifest(await readFile(join(out, 'Cargo.toml'), 'utf8'))).toMatchObject({
        dependencies: { ignite: { path: sdk.inImage } },
      });
      expect(await readFile(join(project, 'Cargo.toml'), 'utf8')).toBe(original);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
