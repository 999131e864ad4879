import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot, uniqueName } from '@ignite/testing';
import { LocalExecutor } from './local-executor';
import { resolveRustToolchain } from './rust-toolchain';

// Real cargo builds through the local executor, sandboxed, on a build cache of this test's own
// that starts empty. The tenants share one small crates.io dependency, itoa, which the attacker
// poisons at the source (every integer it formats becomes 666) and asks cargo to rebuild.
jest.setTimeout(900_000);

const MiB = 1024 * 1024;

/** Tenant A's build script: writes everything it can reach and reports what it managed (cargo:warning lines). */
function attackerBuildScript(otherDirs: string[]): string {
  return `
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => files(&path, out),
            Ok(kind) if kind.is_file() => out.push(path),
            _ => {}
        }
    }
}

#[derive(Default)]
struct Tally { written: usize, denied: usize, error: Option<String> }

impl Tally {
    fn note(&mut self, result: std::io::Result<()>) {
        match result {
            Ok(()) => self.written += 1,
            Err(error) => { self.denied += 1; self.error.get_or_insert(error.to_string()); }
        }
    }
    fn report(&self, what: &str) {
        println!("cargo:warning=ATTACK {what}: {} written, {} denied{}", self.written, self.denied,
            self.error.as_ref().map(|e| format!(" ({e})")).unwrap_or_default());
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    OpenOptions::new().append(true).open(path)?.write_all(text.as_bytes())
}

fn main() {
    let home = PathBuf::from(std::env::var("CARGO_HOME").expect("CARGO_HOME"));
    let target = PathBuf::from(std::env::var("CARGO_TARGET_DIR").expect("CARGO_TARGET_DIR"));

    // Cargo's configuration and credentials: later cargo runs on this home would read them.
    let mut config = Tally::default();
    config.note(fs::write(home.join("config.toml"), "[profile.release]\\nopt-level = 1\\n\\n[build]\\nrustflags = [\\"--cfg\\", \\"poisoned\\"]\\n"));
    config.note(fs::write(home.join("credentials.toml"), "[registry]\\ntoken = \\"stolen\\"\\n"));
    config.report("cargo home config");

    // Registry sources: a payload in itoa, a mark in every other file.
    let mut registry = Tally::default();
    let mut sources = Vec::new();
    files(&home.join("registry"), &mut sources);
    for path in &sources {
        let itoa = path.to_string_lossy().contains("/itoa-") && path.ends_with("src/lib.rs");
        registry.note(if itoa {
            fs::read_to_string(path).and_then(|code| fs::write(path, code.replace(
                "pub fn format<I: Integer>(&mut self, i: I) -> &str {",
                "pub fn format<I: Integer>(&mut self, i: I) -> &str { if true { let _ = i; return \\"666\\"; }",
            )))
        } else {
            append(path, if path.extension().is_some_and(|e| e == "rs") { "\\n// poisoned\\n" } else { "" })
        });
    }
    registry.report("registry");

    // The target dir: every file rewritten, every fingerprint but its own removed (so all is rebuilt from the poisoned sources).
    let own = format!("{}-", std::env::var("CARGO_PKG_NAME").expect("CARGO_PKG_NAME"));
    let mut outputs = Vec::new();
    files(&target, &mut outputs);
    let mut built = Tally::default();
    for path in &outputs {
        built.note(fs::read(path).and_then(|bytes| fs::write(path, bytes)));
    }
    built.report("target files");
    let mut fingerprints = Tally::default();
    for dir in ["release", "x86_64-unknown-linux-gnu/release"] {
        let Ok(entries) = fs::read_dir(target.join(dir).join(".fingerprint")) else { continue };
        for entry in entries.flatten().filter(|entry| !entry.file_name().to_string_lossy().starts_with(&own)) {
            fingerprints.note(fs::remove_dir_all(entry.path()));
        }
    }
    fingerprints.report("target fingerprints");

    // The platform's other directories a build sees.
    let mut others = Tally::default();
    for dir in ${JSON.stringify(otherDirs)} {
        others.note(fs::write(Path::new(dir).join("poisoned"), "x"));
    }
    others.report("other directories");

    // /tmp: as much as it takes.
    let chunk = vec![0u8; 1 << 20];
    let mut written = 0usize;
    if let Ok(mut file) = fs::File::create("/tmp/fill") {
        while written < (1 << 30) && file.write_all(&chunk).is_ok() { written += chunk.len(); }
    }
    let _ = fs::remove_file("/tmp/fill");
    println!("cargo:warning=ATTACK tmp: {} MiB", written >> 20);
}
`;
}

const TENANT_MAIN = 'fn main() {\n    println!("{}", itoa::Buffer::new().format(42u32));\n}\n';

function writeTenant(dir: string, name: string, buildScript?: string): void {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    join(dir, 'Cargo.toml'),
    `[package]\nname = "${name}"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nitoa = "1"\n`,
  );
  writeFileSync(join(dir, 'src', 'main.rs'), TENANT_MAIN);
  if (buildScript) writeFileSync(join(dir, 'build.rs'), buildScript);
}

/** Every file under `dir`: its size and mtime, to see that nothing that was there changed. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) {
        const stat = statSync(child);
        files.set(child, `${stat.size}:${stat.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return files;
}

describe('local executor: a build cannot change what later builds get from the shared dependency cache', () => {
  const root = mkdtempSync(join(tmpdir(), 'ignite-build-isolation-'));
  const cacheDir = join(root, 'cache');
  const sdkPath = join(repoRoot, 'sdk', 'ignite-rs', 'ignite');
  const toolchain = resolveRustToolchain(process.env.RUST_TOOLCHAIN_DIR);
  const executor = new LocalExecutor({
    toolchain,
    sdkWorkspaceDir: resolve(sdkPath, '..'),
    cacheDir,
    sandbox: 'bwrap',
    logMaxBytes: 4 * MiB,
    tmpMaxBytes: 64 * MiB,
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  async function build(name: string, buildScript?: string, using = executor): Promise<{ sha256: string; log: string[]; output: string }> {
    const workDir = join(root, 'builds', uniqueName(name));
    const projectDir = join(workDir, 'src');
    writeTenant(projectDir, name, buildScript);
    const outputPath = join(workDir, 'out', name);
    const log: string[] = [];
    try {
      await using.build(
        { buildId: name, workDir, projectDir, binName: name, target: 'native', outputPath, timeoutMs: 600_000 },
        (stream, text) => log.push(`${stream}: ${text}`),
        new AbortController().signal,
      );
      const output = execFileSync(outputPath, { encoding: 'utf8' }).trim();
      return { sha256: createHash('sha256').update(readFileSync(outputPath)).digest('hex'), log, output };
    } catch (error) {
      throw new Error(`${name} failed: ${(error as Error).message}\n${log.slice(-40).join('\n')}`);
    } finally {
      rmSync(workDir, { recursive: true, force: true });
    }
  }

  it("leaves the next tenant's build and artifact as on a fresh cache after a build script wrote everywhere it could", async () => {
    // Tenant B on the fresh cache: the reference artifact; its dependency lands in the shared cache.
    const fresh = await build('tenant-b');
    expect(fresh.output).toBe('42');
    expect(fresh.log).toContainEqual(expect.stringMatching(/^system: dependencies: 1 crates\.io package\(s\), built in the shared cache/));

    const shared = { registry: join(cacheDir, 'sources', 'registry'), dependencies: join(cacheDir, 'dependencies') };
    const before = { registry: snapshot(join(shared.registry, 'src')), dependencies: snapshot(shared.dependencies) };
    expect(before.registry.size).toBeGreaterThan(0);
    expect(before.dependencies.size).toBeGreaterThan(0);

    // Tenant A: the same dependency, and a build script that attacks everything it can reach.
    const attack = await build('tenant-a', attackerBuildScript([resolve(sdkPath, '..'), toolchain.dir]));
    const reports = attack.log.filter((line) => line.includes('ATTACK')).join('\n');
    // Its build script ran only in the project's own step (after the dependencies were built).
    const projectStep = attack.log.findIndex((line) => line.startsWith('system: building tenant-a'));
    expect(attack.log.findIndex((line) => line.includes('ATTACK'))).toBeGreaterThan(projectStep);
    // What it could write was its own: a private cargo home, a private layer over the target dir.
    expect(reports).toMatch(/ATTACK cargo home config: 2 written, 0 denied/);
    expect(reports).toMatch(/ATTACK target files: [1-9]\d* written/);
    expect(reports).toMatch(/ATTACK target fingerprints: [1-9]\d* written/);
    // What it could not: the registry, the SDK, the toolchain; /tmp is capped.
    expect(reports).toMatch(/ATTACK registry: 0 written, [1-9]\d* denied \(Read-only file system/);
    expect(reports).toMatch(/ATTACK other directories: 0 written, 2 denied/);
    const tmp = Number(/ATTACK tmp: (\d+) MiB/.exec(reports)?.[1]);
    expect(tmp).toBeLessThanOrEqual(64);

    // On the host: the shared caches as they were (tenant A's stub only added files), no config.
    const after = { registry: snapshot(join(shared.registry, 'src')), dependencies: snapshot(shared.dependencies) };
    expect(after.registry).toEqual(before.registry);
    for (const [path, state] of before.dependencies) expect([path, after.dependencies.get(path)]).toEqual([path, state]);
    expect(existsSync(join(cacheDir, 'sources', 'config.toml'))).toBe(false);
    expect(existsSync(join(cacheDir, 'sources', 'credentials.toml'))).toBe(false);

    // Tenant B again: the very artifact of the fresh cache, its dependency reused, not rebuilt.
    const again = await build('tenant-b');
    expect(again.sha256).toBe(fresh.sha256);
    expect(again.output).toBe('42');
    expect(again.log.join('\n')).not.toMatch(/Compiling itoa/);
    expect(again.log.join('\n')).toMatch(/Compiling tenant-b v0\.1\.0 \(.*\/src\)/);
  });

  it('BUILD_SANDBOX=none (trusted sources only) still builds, on caches of its own', async () => {
    const unsandboxed = new LocalExecutor({
      toolchain,
      sdkWorkspaceDir: resolve(sdkPath, '..'),
      cacheDir,
      sandbox: 'none',
      logMaxBytes: 4 * MiB,
    });
    const built = await build('tenant-b', undefined, unsandboxed);
    expect(built.output).toBe('42');
    expect(existsSync(join(cacheDir, 'unsandboxed', 'cargo-home', 'registry'))).toBe(true);
  });

  it("gives every step the worker's own cargo config, read-only", async () => {
    const own = join(root, 'cache-with-config');
    mkdirSync(join(own, 'sources'), { recursive: true });
    writeFileSync(join(own, 'sources', 'config.toml'), '[env]\nIGNITE_WORKER_CONFIG = "seen"\n');
    const configured = new LocalExecutor({
      toolchain,
      sdkWorkspaceDir: resolve(sdkPath, '..'),
      cacheDir: own,
      sandbox: 'bwrap',
      logMaxBytes: 4 * MiB,
    });
    const script = [
      'fn main() {',
      '    println!("cargo:warning=CONFIG {:?}", std::env::var("IGNITE_WORKER_CONFIG"));',
      '    let home = std::path::PathBuf::from(std::env::var("CARGO_HOME").unwrap());',
      '    let written = std::fs::write(home.join("config.toml"), "[env]\\nIGNITE_WORKER_CONFIG = \\"changed\\"\\n");',
      '    println!("cargo:warning=OVERWRITE {:?}", written.map_err(|e| e.kind()));',
      '}',
    ].join('\n');
    const built = await build('tenant-c', script, configured);
    expect(built.log.join('\n')).toContain('CONFIG Ok("seen")');
    expect(built.log.join('\n')).toContain('OVERWRITE Err(ReadOnlyFilesystem)');
    expect(readFileSync(join(own, 'sources', 'config.toml'), 'utf8')).toContain('"seen"');
  });
});
