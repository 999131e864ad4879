import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'smol-toml';
import { ManifestError } from './manifest-error';
import { prepareProject } from './prepare-project';
import type { BuildTarget } from './prepared-project';

const SDK = '/opt/ignite/sdk/ignite';
const HELLO_LIB_RS = `use ignite::prelude::*;
use serde_json::json;

#[ignite::main]
async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse> {
    let message: String = req
        .field("message")
        .unwrap_or_else(|_| "Hello from Rust!".to_string());
    Ok(json!({
        "message": message,
        "execution_id": ctx.execution_id(),
        "function_id": ctx.function_id(),
    }))
}
`;
const HELLO_PACKAGE = '[package]\nname = "rust-hello"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n';
const NATIVE_TOKIO = ['rt-multi-thread', 'macros', 'time', 'sync', 'fs', 'io-util', 'net'];

let project: string;

beforeEach(async () => {
  project = await mkdtemp(join(tmpdir(), 'prepare-'));
});

afterEach(async () => {
  await rm(project, { recursive: true, force: true });
});

async function writeProject(files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(project, path)), { recursive: true });
    await writeFile(join(project, path), content);
  }
}

async function prepare(files: Record<string, string>, target: BuildTarget = 'native') {
  await writeProject(files);
  return prepareProject(project, { sdkPath: SDK, target });
}

// biome-ignore lint/suspicious/noExplicitAny: a parsed manifest is read freely in assertions
async function preparedManifest(): Promise<any> {
  return parse(await readFile(join(project, 'Cargo.toml'), 'utf8'));
}

async function exists(path: string): Promise<boolean> {
  return access(join(project, path)).then(
    () => true,
    () => false,
  );
}

async function manifestError(files: Record<string, string>): Promise<ManifestError> {
  try {
    await prepare(files);
  } catch (error) {
    if (error instanceof ManifestError) return error;
    throw error;
  }
  throw new Error('the project was accepted');
}

describe('prepareProject', () => {
  it('prepares the contract’s rust-hello with ignite = "*": SDK swapped, dependencies injected, a bin for the library handler', async () => {
    const prepared = await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}\n[dependencies]\nignite = "*"\n`,
      'src/lib.rs': HELLO_LIB_RS,
    });

    expect(prepared).toMatchObject({ packageName: 'rust-hello', binName: 'ignite-function', handlerFile: 'src/lib.rs' });
    const manifest = await preparedManifest();
    expect(manifest.package).toEqual({ name: 'rust-hello', version: '0.1.0', edition: '2021', publish: false });
    expect(manifest.dependencies).toEqual({
      ignite: { path: SDK },
      serde: { version: '1', features: ['derive'] },
      serde_json: '1',
      tokio: { version: '1', features: NATIVE_TOKIO },
    });
    expect(manifest.workspace).toEqual({});
    expect(manifest.bin).toEqual([{ name: 'ignite-function', path: '.ignite/main.rs', test: false, bench: false }]);
    expect(await readFile(join(project, '.ignite/main.rs'), 'utf8')).toMatch(/fn main\(\) \{\n {4}rust_hello::__ignite_main\(\)\n\}/);
    expect(prepared.notes).toEqual(
      expect.arrayContaining([
        `Cargo.toml: [dependencies] ignite = "*" → { path = "${SDK}" } (the bundled SDK)`,
        'Cargo.toml: added serde = { version = "1", features = ["derive"] } to [dependencies] (provided by the platform when absent)',
        'Cargo.toml: added an empty [workspace] so that cargo treats the function as its own workspace',
      ]),
    );
  });

  it('prepares the in-repo fixture: ignite and serde_json from a workspace with members', async () => {
    const prepared = await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}
[dependencies]
ignite = { workspace = true }
serde_json = { workspace = true }
anyhow = { workspace = true, features = ["backtrace"] }

[workspace]
members = ["crates/*"]
exclude = ["old"]
resolver = "2"

[workspace.dependencies]
ignite = { path = "../ignite" }
anyhow = { version = "1.0", default-features = false, features = ["std"] }
`,
      'src/lib.rs': HELLO_LIB_RS,
    });

    const manifest = await preparedManifest();
    expect(manifest.workspace).toEqual({ resolver: '2' });
    expect(manifest.dependencies).toEqual({
      ignite: { path: SDK },
      // Not in [workspace.dependencies]: the contract's crate falls back to the platform's spec.
      serde_json: '1',
      anyhow: { version: '1.0', 'default-features': false, features: ['std', 'backtrace'] },
      serde: { version: '1', features: ['derive'] },
      tokio: { version: '1', features: NATIVE_TOKIO },
    });
    expect(prepared.binName).toBe('ignite-function');
    expect(prepared.notes).toEqual(
      expect.arrayContaining([
        'Cargo.toml: removed workspace.members, workspace.exclude; the platform builds only the root package',
        'Cargo.toml: [dependencies] anyhow = { workspace = true } resolved to { version = "1.0", default-features = false, features = ["std", "backtrace"] } from [workspace.dependencies]',
      ]),
    );
  });

  it('resolves a workspace dependency to its bare version', async () => {
    await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\nserde = { workspace = true }\n[workspace.dependencies]\nserde = "1"\n`,
      'src/lib.rs': HELLO_LIB_RS,
    });
    // Resolved to serde = "1", then the contract's derive feature is added.
    expect((await preparedManifest()).dependencies.serde).toEqual({ version: '1', features: ['derive'] });
  });

  it('keeps [workspace.package] so that inherited package fields still resolve', async () => {
    await prepare({
      'Cargo.toml': `[package]\nname = "f"\nversion.workspace = true\nedition.workspace = true\n[workspace]\nmembers = ["."]\n[workspace.package]\nversion = "0.2.0"\nedition = "2021"\n`,
      'src/lib.rs': HELLO_LIB_RS,
    });
    const manifest = await preparedManifest();
    expect(manifest.package.version).toEqual({ workspace: true });
    expect(manifest.workspace).toEqual({ package: { version: '0.2.0', edition: '2021' } });
  });

  it('runs a handler in src/main.rs as the package’s own bin', async () => {
    const prepared = await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\nignite = "*"\n`,
      'src/main.rs': HELLO_LIB_RS,
      'src/lib.rs': 'pub fn helper() {}\n',
    });
    expect(prepared).toMatchObject({ binName: 'rust-hello', handlerFile: 'src/main.rs' });
    expect((await preparedManifest()).bin).toBeUndefined();
    expect(await exists('.ignite')).toBe(false);
  });

  it('runs a handler in a declared [[bin]] under that bin’s name', async () => {
    const prepared = await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}[[bin]]\nname = "server"\npath = "src/server.rs"\n`,
      'src/server.rs': HELLO_LIB_RS,
    });
    expect(prepared).toMatchObject({ binName: 'server', handlerFile: 'src/server.rs' });
  });

  it('keeps a library handler’s bin separate from a plain src/main.rs', async () => {
    const prepared = await prepare({
      'Cargo.toml': HELLO_PACKAGE,
      'src/lib.rs': HELLO_LIB_RS,
      'src/main.rs': 'fn main() { println!("local testing"); }\n',
    });
    expect(prepared).toMatchObject({ binName: 'ignite-function', handlerFile: 'src/lib.rs' });
  });

  it('uses [lib] name and path for the library handler', async () => {
    const prepared = await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}[lib]\nname = "hello_fn"\npath = "src/function.rs"\n`,
      'src/function.rs': HELLO_LIB_RS,
    });
    expect(prepared.handlerFile).toBe('src/function.rs');
    expect(await readFile(join(project, '.ignite/main.rs'), 'utf8')).toContain('hello_fn::__ignite_main()');
  });

  it.each([
    ['serde = "1.0.200"', { version: '1.0.200', features: ['derive'] }],
    [
      'serde = { version = "1", default-features = false, features = ["alloc"] }',
      { version: '1', 'default-features': false, features: ['alloc', 'derive'] },
    ],
    ['serde = { version = "1", features = ["derive", "rc"] }', { version: '1', features: ['derive', 'rc'] }],
  ])('gives the user’s %s the derive feature, keeping the rest', async (line, expected) => {
    const prepared = await prepare({ 'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\n${line}\n`, 'src/lib.rs': HELLO_LIB_RS });
    expect((await preparedManifest()).dependencies.serde).toEqual(expected);
    expect(prepared.notes.some((note) => note.includes('added the "derive" feature'))).toBe(!line.includes('"derive"'));
  });

  it('keeps the user’s tokio and serde_json as declared', async () => {
    await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\ntokio = { version = "1.40", features = ["rt", "macros"] }\nserde_json = { version = "1.0.100", features = ["preserve_order"] }\n`,
      'src/lib.rs': HELLO_LIB_RS,
    });
    const { dependencies } = await preparedManifest();
    expect(dependencies.tokio).toEqual({ version: '1.40', features: ['rt', 'macros'] });
    expect(dependencies.serde_json).toEqual({ version: '1.0.100', features: ['preserve_order'] });
  });

  it('counts a renamed crate as present', async () => {
    await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\njson = { package = "serde_json", version = "1" }\n`,
      'src/lib.rs': HELLO_LIB_RS,
    });
    const { dependencies } = await preparedManifest();
    expect(dependencies.json).toEqual({ package: 'serde_json', version: '1' });
    expect(dependencies.serde_json).toBeUndefined();
  });

  it('injects wasm’s tokio features for the wasm target, and sizes the release profile for it', async () => {
    await prepare(
      { 'Cargo.toml': `${HELLO_PACKAGE}[profile.release]\npanic = "abort"\ndebug = true\n`, 'src/lib.rs': HELLO_LIB_RS },
      'wasm',
    );
    const manifest = await preparedManifest();
    expect(manifest.dependencies.tokio).toEqual({ version: '1', features: ['macros', 'sync', 'io-util', 'rt', 'time'] });
    expect(manifest.profile.release).toEqual({ debug: true, 'opt-level': 's', lto: true, 'codegen-units': 1, strip: true, panic: 'abort' });
  });

  describe('the wasm target: a wasi:http/proxy component', () => {
    it('builds a library handler as a cdylib, with no bin target', async () => {
      const prepared = await prepare({ 'Cargo.toml': HELLO_PACKAGE, 'src/lib.rs': HELLO_LIB_RS }, 'wasm');
      expect(prepared).toMatchObject({ binName: 'rust_hello', crateKind: 'cdylib', handlerFile: 'src/lib.rs' });
      const manifest = await preparedManifest();
      expect(manifest.lib).toEqual({ 'crate-type': ['cdylib'] });
      expect(manifest.bin).toBeUndefined();
      expect(await exists('.ignite/main.rs')).toBe(false);
      expect(prepared.notes.join('\n')).toMatch(/crate-type = \["cdylib"\].*wasi:http\/incoming-handler/);
    });

    it('keeps the crate types a library declares, adding cdylib, under its own [lib] name', async () => {
      const prepared = await prepare(
        { 'Cargo.toml': `${HELLO_PACKAGE}[lib]\nname = "hello_fn"\ncrate_type = ["rlib"]\n`, 'src/lib.rs': HELLO_LIB_RS },
        'wasm',
      );
      expect(prepared).toMatchObject({ binName: 'hello_fn', crateKind: 'cdylib' });
      expect((await preparedManifest()).lib).toEqual({ name: 'hello_fn', crate_type: ['rlib', 'cdylib'] });
    });

    it('builds a src/main.rs handler of a package without a library as a cdylib on that file', async () => {
      const prepared = await prepare({ 'Cargo.toml': HELLO_PACKAGE, 'src/main.rs': HELLO_LIB_RS }, 'wasm');
      expect(prepared).toMatchObject({ binName: 'rust_hello', crateKind: 'cdylib', handlerFile: 'src/main.rs' });
      expect((await preparedManifest()).lib).toEqual({
        name: 'rust_hello',
        path: 'src/main.rs',
        'crate-type': ['cdylib'],
        test: false,
        doctest: false,
      });
    });

    it('builds the bin itself when the handler is in a bin and the package has a library', async () => {
      const prepared = await prepare(
        { 'Cargo.toml': HELLO_PACKAGE, 'src/main.rs': HELLO_LIB_RS, 'src/lib.rs': 'pub fn helper() -> u32 { 1 }\n' },
        'wasm',
      );
      expect(prepared).toMatchObject({ binName: 'rust-hello', crateKind: 'bin', handlerFile: 'src/main.rs' });
      expect((await preparedManifest()).lib).toBeUndefined();
      expect(prepared.notes.join('\n')).toMatch(/also wasi:cli\/run/);
    });

    it('leaves out the tokio features tokio does not have on wasm, "full" included', async () => {
      const prepared = await prepare(
        {
          'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\ntokio = { version = "1.40", features = ["full", "parking_lot"] }\n`,
          'src/lib.rs': HELLO_LIB_RS,
        },
        'wasm',
      );
      expect((await preparedManifest()).dependencies.tokio).toEqual({
        version: '1.40',
        features: ['parking_lot', 'macros', 'sync', 'io-util', 'rt', 'time'],
      });
      expect(prepared.notes.join('\n')).toMatch(/left out "full".*wasm32-wasip2/);
      await prepare({ 'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\ntokio = { version = "1", features = ["net", "time"] }\n` }, 'wasm');
      expect((await preparedManifest()).dependencies.tokio).toEqual({ version: '1', features: ['time'] });
    });

    it('keeps every tokio feature for native', async () => {
      await prepare(
        { 'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\ntokio = { version = "1", features = ["full"] }\n`, 'src/lib.rs': HELLO_LIB_RS },
        'native',
      );
      expect((await preparedManifest()).dependencies.tokio).toEqual({ version: '1', features: ['full'] });
    });
  });

  it('swaps every ignite dependency for the bundled SDK, whatever its source, keeping features', async () => {
    const prepared = await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}
[dependencies]
ignite = { git = "https://example.com/ignite.git", branch = "main", features = ["stream"], default-features = false }

[dev-dependencies]
ignite = { version = "0.1" }

[target.'cfg(unix)'.build-dependencies]
ignite = { path = "../ignite" }
`,
      'src/lib.rs': HELLO_LIB_RS,
    });
    const manifest = await preparedManifest();
    expect(manifest.dependencies.ignite).toEqual({ path: SDK, features: ['stream'], 'default-features': false });
    expect(manifest['dev-dependencies'].ignite).toEqual({ path: SDK });
    expect(manifest.target['cfg(unix)']['build-dependencies'].ignite).toEqual({ path: SDK });
    expect(prepared.notes.filter((note) => note.includes('the declared source is ignored'))).toHaveLength(2);
  });

  it('removes cargo configuration and toolchain files, and keeps build.rs', async () => {
    const prepared = await prepare({
      'Cargo.toml': HELLO_PACKAGE,
      'src/lib.rs': HELLO_LIB_RS,
      'build.rs': 'fn main() {}\n',
      '.cargo/config.toml': '[build]\ntarget-dir = "/tmp/elsewhere"\n',
      '.cargo/config': '[build]\nrustflags = ["-C", "link-arg=-evil"]\n',
      'rust-toolchain.toml': '[toolchain]\nchannel = "nightly"\n',
      'rust-toolchain': 'nightly\n',
    });
    for (const removed of ['.cargo/config.toml', '.cargo/config', 'rust-toolchain.toml', 'rust-toolchain']) {
      expect(await exists(removed)).toBe(false);
      expect(prepared.notes.some((note) => note.startsWith(`${removed}: ignored and removed`))).toBe(true);
    }
    expect(await exists('build.rs')).toBe(true);
    expect(prepared.notes).toContain(
      'build.rs: kept; build scripts run inside the isolated, time-limited build like the rest of the compilation',
    );
  });

  it('adds rlib to a cdylib library so the bin can link it', async () => {
    const prepared = await prepare({ 'Cargo.toml': `${HELLO_PACKAGE}[lib]\ncrate-type = ["cdylib"]\n`, 'src/lib.rs': HELLO_LIB_RS });
    expect((await preparedManifest()).lib['crate-type']).toEqual(['cdylib', 'rlib']);
    expect(prepared.notes.some((note) => note.includes('added "rlib" to [lib] crate-type'))).toBe(true);
  });

  it('removes panic = "abort" from the native release profile, keeping the rest', async () => {
    const prepared = await prepare({
      'Cargo.toml': `${HELLO_PACKAGE}[profile.release]\npanic = "abort"\nlto = "thin"\n`,
      'src/lib.rs': HELLO_LIB_RS,
    });
    expect((await preparedManifest()).profile.release).toEqual({ lto: 'thin' });
    expect(prepared.notes.some((note) => note.startsWith('Cargo.toml: removed [profile.release] panic = "abort"'))).toBe(true);
  });

  it('removes a pointer to a parent workspace', async () => {
    await prepare({ 'Cargo.toml': `${HELLO_PACKAGE.replace('publish = false\n', 'workspace = "../.."\n')}`, 'src/lib.rs': HELLO_LIB_RS });
    expect((await preparedManifest()).package.workspace).toBeUndefined();
  });

  it('does not take a commented-out or quoted attribute for the handler', async () => {
    const error = await manifestError({
      'Cargo.toml': HELLO_PACKAGE,
      'src/lib.rs':
        '// #[ignite::main]\n/* outer /* nested */ #[ignite::main] */\nconst S: &str = "#[ignite::main]";\nconst R: &str = r#"#[ignite::main]"#;\n',
    });
    expect(error.message).toMatch(
      /^no function annotated with #\[ignite::main\] in src\/lib\.rs or src\/main\.rs; add `#\[ignite::main\] async fn handler/,
    );
  });

  describe('refuses', () => {
    it('a TOML syntax error, naming its line', async () => {
      const error = await manifestError({ 'Cargo.toml': '[package]\nname = "f"\nversion = 0.1.0\n', 'src/lib.rs': HELLO_LIB_RS });
      expect(error.message).toMatch(/^Cargo\.toml:3:\d+: invalid TOML: /);
      expect(error.message).toContain('version = 0.1.0');
    });

    it('a project without a handler', async () => {
      const error = await manifestError({ 'Cargo.toml': HELLO_PACKAGE, 'src/lib.rs': 'pub fn f() {}\n' });
      expect(error.message).toBe(
        'no function annotated with #[ignite::main] in src/lib.rs or src/main.rs; add `#[ignite::main] async fn handler(req: Request, ctx: Context) -> Result<impl IntoResponse>`',
      );
    });

    it('two handlers', async () => {
      const error = await manifestError({ 'Cargo.toml': HELLO_PACKAGE, 'src/lib.rs': HELLO_LIB_RS, 'src/main.rs': HELLO_LIB_RS });
      expect(error.message).toMatch(/^#\[ignite::main\] appears in src\/main\.rs and src\/lib\.rs/);
    });

    it('a virtual workspace manifest', async () => {
      const error = await manifestError({ 'Cargo.toml': '[workspace]\nmembers = ["hello"]\n', 'hello/src/lib.rs': HELLO_LIB_RS });
      expect(error.message).toMatch(/^Cargo\.toml is a virtual workspace manifest .*the archive root must be the function's own package/);
    });

    it('a manifest with bins but no [package]', async () => {
      const error = await manifestError({ 'Cargo.toml': '[[bin]]\nname = "x"\n', 'src/main.rs': HELLO_LIB_RS });
      expect(error.message).toMatch(/has no \[package\] section; the archive root must be the function's own package/);
    });

    it('a workspace dependency the archive cannot resolve', async () => {
      const error = await manifestError({
        'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\nanyhow = { workspace = true }\n`,
        'src/lib.rs': HELLO_LIB_RS,
      });
      expect(error.message).toMatch(/anyhow = \{ workspace = true \}, but .* no \[workspace\.dependencies\] entry for anyhow/);
    });

    it('an inherited package field with nothing to inherit', async () => {
      const error = await manifestError({ 'Cargo.toml': '[package]\nname = "f"\nversion.workspace = true\n', 'src/lib.rs': HELLO_LIB_RS });
      expect(error.message).toMatch(/\[package\] version\.workspace = true, but .* no \[workspace\.package\] version/);
    });

    it('the SDK renamed', async () => {
      const error = await manifestError({
        'Cargo.toml': `${HELLO_PACKAGE}[dependencies]\nsdk = { package = "ignite", version = "*" }\n`,
        'src/lib.rs': HELLO_LIB_RS,
      });
      expect(error.message).toMatch(/renames the ignite SDK/);
    });

    it('a [[bin]] already named ignite-function for a library handler', async () => {
      const error = await manifestError({
        'Cargo.toml': `${HELLO_PACKAGE}[[bin]]\nname = "ignite-function"\npath = "src/other.rs"\n`,
        'src/lib.rs': HELLO_LIB_RS,
        'src/other.rs': 'fn main() {}\n',
      });
      expect(error.message).toMatch(/"ignite-function" is reserved/);
    });

    it('a project without Cargo.toml', async () => {
      const error = await manifestError({ 'src/lib.rs': HELLO_LIB_RS });
      expect(error.message).toMatch(/^Cargo\.toml: not found/);
    });

    it('without touching the project', async () => {
      const original = `${HELLO_PACKAGE}[dependencies]\nignite = "*"\n`;
      await manifestError({ 'Cargo.toml': original, 'src/lib.rs': 'fn f() {}\n', '.cargo/config.toml': '' });
      expect(await readFile(join(project, 'Cargo.toml'), 'utf8')).toBe(original);
      expect(await exists('.cargo/config.toml')).toBe(true);
    });
  });
});
