import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILD_CONTEXT_FILE,
  buildArtifactUrl,
  buildContextUrl,
  buildExchangeDir,
  generateBuildTokenKey,
  signBuildToken,
} from '@ignite/build-tokens';
import * as tar from 'tar';
import { BUILD_EXIT_CODES, buildPodCommand } from './build-script';
import { startInternalApi } from './testing/internal-api';

// The pod script's every branch, run by sh on this machine against the API's real internal
// endpoints with real curl and tar; only `cargo` and `rustc` are small stand-ins, so each outcome of
// a build (success, compile error, no artifact) can be had in milliseconds. The script with the
// real cargo is kubernetes-executor.cargo.spec.ts.
const TRIPLE = 'x86_64-unknown-linux-gnu';

const STUB_RUSTC = '#!/bin/sh\necho "rustc 1.93.0 (stub 2026-01-01)"\n';
// Behaves as $STUB_CARGO says; reports whether a build token leaked into its environment.
const STUB_CARGO = `#!/bin/sh
if env | grep -q TOKEN; then echo "cargo: saw a token" >&2; fi
while [ $# -gt 0 ]; do case "$1" in --bin) bin="$2"; shift;; --lib) bin="fn_lib.wasm"; what=library;; --target) triple="$2"; shift;; esac; shift; done
echo '{"reason":"compiler-artifact","target":{"name":"serde"}}'
case "$STUB_CARGO" in
  ok) mkdir -p "$CARGO_TARGET_DIR/$triple/release" && printf '%s of %s' "\${what:-binary}" "$bin" > "$CARGO_TARGET_DIR/$triple/release/$bin"; exit 0;;
  fail) echo '{"reason":"compiler-message","message":{"level":"error","message":"boom","rendered":"error: boom\\n","spans":[]}}'; echo "error: could not compile" >&2; exit 101;;
  no-artifact) exit 0;;
esac
`;

describe('the build pod script', () => {
  const key = generateBuildTokenKey();
  let root: string;
  let dataDir: string;
  let api: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pod-script-'));
    dataDir = join(root, 'data');
    api = await startInternalApi({ dataDir, tokenKey: Buffer.from(key), maxArtifactBytes: 1024 * 1024, clockToleranceSeconds: 0 });
    await mkdir(join(root, 'bin'));
    await writeFile(join(root, 'bin', 'rustc'), STUB_RUSTC);
    await writeFile(join(root, 'bin', 'cargo'), STUB_CARGO);
    await chmod(join(root, 'bin', 'rustc'), 0o755);
    await chmod(join(root, 'bin', 'cargo'), 0o755);
    // An image seed: a pre-fetched cargo home and pre-built dependencies for both targets.
    for (const path of [
      'seed/cargo-home/registry/index/marker',
      'seed/target/release/host-marker',
      `seed/target/${TRIPLE}/release/dep-marker`,
      'seed/target/wasm32-wasip2/release/wasm-marker',
    ]) {
      await mkdir(join(root, path, '..'), { recursive: true });
      await writeFile(join(root, path), path);
    }
  });

  afterAll(async () => {
    await api?.close();
    await rm(root, { recursive: true, force: true });
  });

  /** What the worker does before the pod starts: the build's context in the shared data directory. */
  const prepareBuild = async (context: Buffer | 'project') => {
    const buildId = randomUUID();
    const dir = buildExchangeDir(dataDir, buildId);
    await mkdir(dir, { recursive: true });
    if (context === 'project') {
      const project = join(root, `project-${buildId}`);
      await mkdir(join(project, 'src'), { recursive: true });
      await writeFile(join(project, 'Cargo.toml'), '[package]\nname = "fn"\nversion = "0.1.0"\n');
      await writeFile(join(project, 'src', 'main.rs'), 'fn main() {}\n');
      await tar.create({ gzip: true, cwd: project, file: join(dir, BUILD_CONTEXT_FILE), portable: true }, ['.']);
    } else {
      await writeFile(join(dir, BUILD_CONTEXT_FILE), context);
    }
    return buildId;
  };

  const runPod = async (
    buildId: string,
    options: { cargo: string; contextToken?: string; artifactToken?: string; seed?: boolean; command?: string[] },
  ) => {
    const work = join(root, 'pods', buildId);
    await mkdir(work, { recursive: true });
    const [command, ...args] = options.command ?? buildPodCommand('fn', TRIPLE, 'fn');
    const env = {
      PATH: `${join(root, 'bin')}:/usr/bin:/bin`,
      STUB_CARGO: options.cargo,
      IGNITE_CONTEXT_URL: buildContextUrl(api.url, buildId),
      IGNITE_CONTEXT_TOKEN: options.contextToken ?? signBuildToken({ buildId, scope: 'context:read', ttlSeconds: 60 }, key),
      IGNITE_ARTIFACT_URL: buildArtifactUrl(api.url, buildId),
      IGNITE_ARTIFACT_TOKEN: options.artifactToken ?? signBuildToken({ buildId, scope: 'artifact:write', ttlSeconds: 60 }, key),
      IGNITE_WORK_DIR: work,
      IGNITE_SEED_DIR: options.seed === false ? join(root, 'no-seed') : join(root, 'seed'),
      HOME: join(work, 'home'),
      TMPDIR: work,
      CARGO_HOME: join(work, 'cargo-home'),
      CARGO_TARGET_DIR: join(work, 'target'),
    };
    const child = spawn(command!, args, { env, cwd: work });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
    return { code, output, work };
  };

  it('seeds the caches, downloads, builds, and uploads the artifact with its sha256', async () => {
    const buildId = await prepareBuild('project');
    const { code, output, work } = await runPod(buildId, { cargo: 'ok' });
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).toContain('ignite-build: toolchain rustc 1.93.0 (stub 2026-01-01)');
    expect(output).toContain('ignite-build: artifact uploaded');
    expect(output).not.toContain('saw a token');
    expect(await readFile(join(buildExchangeDir(dataDir, buildId), 'artifact'), 'utf8')).toBe('binary of fn');
    // The sources were unpacked where cargo ran; the target's seed is the build's own target only.
    expect(existsSync(join(work, 'src', 'Cargo.toml'))).toBe(true);
    expect(existsSync(join(work, 'cargo-home', 'registry', 'index', 'marker'))).toBe(true);
    expect(existsSync(join(work, 'target', 'release', 'host-marker'))).toBe(true);
    expect(existsSync(join(work, 'target', TRIPLE, 'release', 'dep-marker'))).toBe(true);
    expect(existsSync(join(work, 'target', 'wasm32-wasip2'))).toBe(false);
  });

  it('builds the library of a wasm component (cdylib) with --lib and uploads <crate>.wasm', async () => {
    const buildId = await prepareBuild('project');
    const command = buildPodCommand('fn_lib', 'wasm32-wasip2', 'fn_lib.wasm', 'cdylib');
    const { code, output } = await runPod(buildId, { cargo: 'ok', command });
    expect({ code, output }).toMatchObject({ code: 0 });
    expect(output).toContain('ignite-build: cargo build --release --lib --target wasm32-wasip2');
    expect(await readFile(join(buildExchangeDir(dataDir, buildId), 'artifact'), 'utf8')).toBe('library of fn_lib.wasm');
  });

  it('builds without a seed too', async () => {
    const buildId = await prepareBuild('project');
    const { code } = await runPod(buildId, { cargo: 'ok', seed: false });
    expect(code).toBe(0);
  });

  it('exits 10 with the API’s answer when the context cannot be downloaded', async () => {
    const buildId = await prepareBuild('project');
    const other = randomUUID();
    const { code, output } = await runPod(buildId, {
      cargo: 'ok',
      contextToken: signBuildToken({ buildId: other, scope: 'context:read', ttlSeconds: 60 }, key),
    });
    expect(code).toBe(BUILD_EXIT_CODES.contextDownload);
    expect(output).toContain('"code":"forbidden"');
    expect(output).toContain(`ignite-build: error: could not download the build context from ${buildContextUrl(api.url, buildId)}`);
  });

  it('exits 11 when the context is not a tar.gz', async () => {
    const buildId = await prepareBuild(Buffer.from('not a tarball'));
    const { code, output } = await runPod(buildId, { cargo: 'ok' });
    expect(code).toBe(BUILD_EXIT_CODES.contextUnpack);
    expect(output).toContain('ignite-build: error: could not unpack the build context');
  });

  it('exits 12 with cargo’s output when the build fails', async () => {
    const buildId = await prepareBuild('project');
    const { code, output } = await runPod(buildId, { cargo: 'fail' });
    expect(code).toBe(BUILD_EXIT_CODES.compile);
    expect(output).toContain('"message":"boom"');
    expect(output).toContain('ignite-build: error: cargo build failed (exit code 101)');
    expect(existsSync(join(buildExchangeDir(dataDir, buildId), 'artifact'))).toBe(false);
  });

  it('exits 13 when cargo leaves no artifact', async () => {
    const buildId = await prepareBuild('project');
    const { code, output } = await runPod(buildId, { cargo: 'no-artifact' });
    expect(code).toBe(BUILD_EXIT_CODES.artifactMissing);
    expect(output).toMatch(/ignite-build: error: cargo finished but .*\/target\/x86_64-unknown-linux-gnu\/release\/fn is missing/);
  });

  it('exits 14 with the API’s answer when the upload is refused', async () => {
    const buildId = await prepareBuild('project');
    const expired = signBuildToken({ buildId, scope: 'artifact:write', ttlSeconds: 1 }, key, Date.now() - 60_000);
    const { code, output } = await runPod(buildId, { cargo: 'ok', artifactToken: expired });
    expect(code).toBe(BUILD_EXIT_CODES.artifactUpload);
    expect(output).toContain('"code":"unauthorized"');
    expect(output).toContain('ignite-build: error: could not upload the artifact');
  });
});
