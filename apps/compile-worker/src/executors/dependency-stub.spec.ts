import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CargoMetadata, CRATES_IO_SOURCE, planDependencyStub, touchTree, writeDependencyStub } from './dependency-stub';

const project = '/data/builds/b1/src';
const sdk = '/srv/ignite/sdk';
const dirs = { projectDir: project, sdkDir: sdk };

function registry(name: string, version = '1.0.0') {
  return {
    id: `${CRATES_IO_SOURCE}#${name}@${version}`,
    name,
    version,
    source: CRATES_IO_SOURCE,
    manifest_path: `/cache/registry/src/index.crates.io-1/${name}-${version}/Cargo.toml`,
    targets: [{ name, kind: ['lib'], src_path: `/cache/registry/src/index.crates.io-1/${name}-${version}/src/lib.rs` }],
  };
}

function pathPackage(name: string, dir: string, targets: Array<{ name: string; kind: string[]; file: string }>) {
  return {
    id: `path+file://${dir}#${name}@0.1.0`,
    name,
    version: '0.1.0',
    source: null,
    manifest_path: `${dir}/Cargo.toml`,
    targets: targets.map((target) => ({ name: target.name, kind: target.kind, src_path: `${dir}/${target.file}` })),
  };
}

/** A function (lib + the platform's bin + build.rs) with a path dependency of its own, the SDK and serde. */
function metadata(): CargoMetadata {
  const packages = [
    pathPackage('hello', project, [
      { name: 'hello', kind: ['lib'], file: 'src/lib.rs' },
      { name: 'ignite-function', kind: ['bin'], file: '.ignite/main.rs' },
      { name: 'build-script-build', kind: ['custom-build'], file: 'build.rs' },
    ]),
    pathPackage('helpers', `${project}/helpers`, [{ name: 'helpers', kind: ['proc-macro'], file: 'src/lib.rs' }]),
    pathPackage('ignite', `${sdk}/ignite`, [{ name: 'ignite', kind: ['lib'], file: 'src/lib.rs' }]),
    registry('serde'),
  ];
  const [hello, helpers, ignite, serde] = packages.map((pkg) => pkg.id) as [string, string, string, string];
  return {
    packages,
    resolve: {
      nodes: [
        { id: hello, deps: [{ pkg: helpers }, { pkg: ignite }, { pkg: serde }] },
        { id: helpers, deps: [{ pkg: serde }] },
        { id: ignite, deps: [{ pkg: serde }] },
        { id: serde, deps: [] },
      ],
    },
  };
}

describe('planDependencyStub', () => {
  it("stubs every target of the project's own packages and keeps their manifests and the lockfile", () => {
    const plan = planDependencyStub(metadata(), dirs);
    if (plan.kind !== 'stub') throw new Error(plan.reason);
    expect(plan.copies).toEqual(['Cargo.lock', 'Cargo.toml', 'helpers/Cargo.toml']);
    expect(Object.fromEntries(plan.stubs)).toEqual({
      'src/lib.rs': '',
      '.ignite/main.rs': 'fn main() {}\n',
      'build.rs': 'fn main() {}\n',
      'helpers/src/lib.rs': '',
    });
    expect(plan.counts).toEqual({ registry: 1, sdk: 1, own: 2 });
  });

  it('builds nothing ahead for a git dependency, another registry or a path outside the project', () => {
    const git = metadata();
    git.packages[3]!.source = 'git+https://example.com/serde.git?branch=main#abc';
    expect(planDependencyStub(git, dirs)).toEqual({
      kind: 'skip',
      reason: 'serde 1.0.0 comes from git+https://example.com/serde.git?branch=main, not crates.io',
    });

    const other = metadata();
    other.packages[3]!.source = 'sparse+https://registry.example.com/';
    expect(planDependencyStub(other, dirs).kind).toBe('skip');

    const outside = metadata();
    outside.packages[1]!.manifest_path = '/data/builds/b1/elsewhere/Cargo.toml';
    expect(planDependencyStub(outside, dirs)).toEqual({ kind: 'skip', reason: 'helpers 0.1.0 is a path dependency outside the project' });

    const escaping = metadata();
    escaping.packages[0]!.targets[0]!.src_path = '/etc/passwd';
    expect(planDependencyStub(escaping, dirs).kind).toBe('skip');
  });

  it("builds nothing ahead when a crates.io package or the SDK would depend on the project's own code (a [patch])", () => {
    const patched = metadata();
    const helpers = patched.packages[1]!.id;
    patched.resolve!.nodes[2]!.deps.push({ pkg: helpers });
    expect(planDependencyStub(patched, dirs)).toEqual({
      kind: 'skip',
      reason: "ignite@0.1.0 depends on the project's own helpers@0.1.0 (a [patch]?)",
    });
  });
});

describe('writeDependencyStub and touchTree', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ignite-stub-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes the stub beside the project, and makes every project file newer than it', async () => {
    const projectDir = join(root, 'project');
    const stubDir = join(root, 'stub');
    mkdirSync(join(projectDir, 'helpers', 'src'), { recursive: true });
    mkdirSync(join(projectDir, 'src'), { recursive: true });
    writeFileSync(join(projectDir, 'Cargo.toml'), '[package]\nname = "hello"\n');
    writeFileSync(join(projectDir, 'Cargo.lock'), 'version = 4\n');
    writeFileSync(join(projectDir, 'helpers', 'Cargo.toml'), '[package]\nname = "helpers"\n');
    writeFileSync(join(projectDir, 'src', 'lib.rs'), 'pub fn secret() {}\n');
    await writeDependencyStub(
      {
        kind: 'stub',
        copies: ['Cargo.lock', 'Cargo.toml', 'helpers/Cargo.toml'],
        stubs: new Map([
          ['src/lib.rs', ''],
          ['.ignite/main.rs', 'fn main() {}\n'],
        ]),
        counts: { registry: 0, sdk: 0, own: 1 },
      },
      projectDir,
      stubDir,
    );
    expect(readFileSync(join(stubDir, 'helpers', 'Cargo.toml'), 'utf8')).toContain('helpers');
    expect(readFileSync(join(stubDir, 'src', 'lib.rs'), 'utf8')).toBe('');
    expect(readFileSync(join(stubDir, '.ignite', 'main.rs'), 'utf8')).toBe('fn main() {}\n');

    const old = new Date(Date.now() - 3_600_000);
    utimesSync(join(projectDir, 'src', 'lib.rs'), old, old);
    const before = Date.now();
    await touchTree(projectDir);
    expect(statSync(join(projectDir, 'src', 'lib.rs')).mtimeMs).toBeGreaterThanOrEqual(before - 1);
    expect(statSync(join(projectDir, 'helpers')).mtimeMs).toBeGreaterThanOrEqual(before - 1);
  });
});
