import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prepareProject } from './prepare-project';

const run = promisify(execFile);

interface CargoTarget {
  name: string;
  kind: string[];
  crate_types: string[];
  src_path: string;
}
interface CargoPackage {
  name: string;
  targets: CargoTarget[];
  dependencies: { name: string; path?: string; features: string[] }[];
}

/**
 * cargo itself reads the rewritten manifest. The real SDK is another package's business, so a
 * stand-in `ignite` crate plays its part; `--no-deps --offline` reads manifests without resolving
 * registry crates, so no network is needed.
 */
describe('prepareProject, as cargo sees the result', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'prepare-cargo-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives cargo a manifest it accepts, with the ignite-function bin and the SDK as a path dependency', async () => {
    const sdkPath = join(dir, 'sdk', 'ignite');
    await mkdir(join(sdkPath, 'src'), { recursive: true });
    await writeFile(join(sdkPath, 'Cargo.toml'), '[package]\nname = "ignite"\nversion.workspace = true\nedition = "2021"\n');
    await writeFile(join(sdkPath, 'src/lib.rs'), '');
    // Like the real SDK, the stand-in is a member of its own workspace. The project is built below
    // that workspace's folder: cargo must not take it for a member.
    await writeFile(join(dir, 'Cargo.toml'), '[workspace]\nmembers = ["sdk/ignite"]\n\n[workspace.package]\nversion = "0.1.0"\n');
    const projectDir = join(dir, 'build', 'src');
    await mkdir(join(projectDir, 'src'), { recursive: true });
    await writeFile(
      join(projectDir, 'Cargo.toml'),
      '[package]\nname = "rust-hello"\nversion = "0.1.0"\nedition = "2021"\n\n[lib]\ncrate-type = ["cdylib"]\n\n[dependencies]\nignite = { workspace = true }\nserde = "1.0.200"\n\n[profile.release]\npanic = "abort"\n',
    );
    await writeFile(
      join(projectDir, 'src/lib.rs'),
      'use ignite::prelude::*;\n\n#[ignite::main]\nasync fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {\n    Ok(())\n}\n',
    );

    const prepared = await prepareProject(projectDir, { sdkPath, target: 'native' });

    const { stdout } = await run(
      process.env.CARGO ?? 'cargo',
      ['metadata', '--no-deps', '--offline', '--format-version', '1', '--manifest-path', join(projectDir, 'Cargo.toml')],
      { cwd: projectDir, env: { ...process.env, CARGO_TERM_COLOR: 'never' } },
    );
    const metadata = JSON.parse(stdout) as { packages: CargoPackage[]; workspace_root: string };
    expect(metadata.workspace_root).toBe(projectDir);
    expect(metadata.packages.map((pkg) => pkg.name)).toEqual(['rust-hello']);
    const [pkg] = metadata.packages;
    const bin = pkg?.targets.find((target) => target.kind.includes('bin'));
    expect(bin).toMatchObject({ name: prepared.binName, src_path: join(projectDir, '.ignite/main.rs') });
    expect(pkg?.targets.find((target) => target.kind.includes('cdylib'))?.crate_types).toEqual(['cdylib', 'rlib']);
    expect(pkg?.dependencies.find((dependency) => dependency.name === 'ignite')).toMatchObject({ path: sdkPath });
    expect(pkg?.dependencies.find((dependency) => dependency.name === 'serde')?.features).toEqual(['derive']);
  });
});
