import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateBuildTokenKey } from '@ignite/build-tokens';
import { prepareProject } from '@ignite/function-manifest';
import { repoRoot, rustHelloUserSource, writeFunctionSource } from '@ignite/testing';
import { assertNativeExecutable, verifyNativeStarts } from '../../pipeline/verify-artifact';
import { BuildFailure, type BuildRequest } from '../build-executor';
import { resolveRustToolchain } from '../rust-toolchain';
import { assertEsmRequireSupported } from './testing/esm-support';
import type { FakeKubernetes as FakeKubernetesType, KubeObject } from './testing/fake-kubernetes';
import { startInternalApi } from './testing/internal-api';

// The build pod for real, minus the cluster: the fake kubelet runs the Job's own container command
// (the POSIX sh script) on this machine with the Job's environment — real curl against the API's
// real internal endpoints, real tar, real cargo on the real SDK — mapping only the paths that exist
// in the compile image (/work, the SDK) to local ones. Dependency builds are cached across runs.
jest.setTimeout(900_000);
assertEsmRequireSupported();
const { KubernetesExecutor } = require('./kubernetes-executor') as typeof import('./kubernetes-executor');
const { FakeKubernetes } = require('./testing/fake-kubernetes') as typeof import('./testing/fake-kubernetes');

const SDK_PATH = join(repoRoot, 'sdk', 'ignite-rs', 'ignite');

describe('KubernetesExecutor: the build pod script with cargo', () => {
  const tokenKey = generateBuildTokenKey();
  const toolchain = resolveRustToolchain(process.env.RUST_TOOLCHAIN_DIR);
  const cacheDir = process.env.IGNITE_BUILD_CACHE_DIR ?? join(homedir(), '.cache', 'ignite', 'test-build-cache');
  const toolchainKey = createHash('sha256').update(toolchain.version).digest('hex').slice(0, 12);
  // A stable stand-in for the image's /opt/ignite/sdk (stable, so cargo's fingerprints of the SDK hold across runs).
  const imageRoot = join(cacheDir, 'k8s-fake-pod', 'image');
  const sdkInImage = join(imageRoot, 'opt', 'ignite', 'sdk', 'ignite-rs', 'ignite');
  let root: string;
  let fake: FakeKubernetesType;
  let api: { url: string; close: () => Promise<void> };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'k8s-cargo-'));
    if (!existsSync(dirname(sdkInImage))) {
      mkdirSync(dirname(dirname(sdkInImage)), { recursive: true });
      symlinkSync(dirname(SDK_PATH), dirname(sdkInImage));
    }
    fake = new FakeKubernetes();
    await fake.start();
    api = await startInternalApi({
      dataDir: join(root, 'data'),
      tokenKey: Buffer.from(tokenKey),
      maxArtifactBytes: 256 * 1024 * 1024,
      clockToleranceSeconds: 0,
    });
  });

  afterAll(async () => {
    await api?.close();
    await fake?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const build = async (source: string) => {
    const project = await prepareProject(source, { sdkPath: SDK_PATH, target: 'native' });
    const buildId = randomUUID();
    const workDir = join(root, 'builds', buildId);
    const podWork = join(root, 'pods', buildId);
    await mkdir(workDir, { recursive: true });
    await mkdir(podWork, { recursive: true });
    const executor = new KubernetesExecutor(
      {
        namespace: 'ignite-builds',
        image: 'ignite/compile:test',
        imagePullPolicy: 'IfNotPresent',
        imagePullSecrets: [],
        resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '2Gi' },
        workSizeLimit: '10Gi',
        tmpSizeLimit: '1Gi',
        jobTtlSeconds: 60,
        sdk: { onWorker: SDK_PATH, inImage: sdkInImage },
        seedDir: join(root, 'no-seed'),
        apiInternalUrl: api.url,
        tokenKey,
        dataDir: join(root, 'data'),
        logMaxBytes: 4 * 1024 * 1024,
        pollIntervalMs: 200,
        schedulingTimeoutMs: 10_000,
        apiTimeoutMs: 5000,
        apiErrorBudgetMs: 10_000,
      },
      fake.kubeConfig(),
    );
    let pod: Promise<number> | undefined;
    fake.onJobCreated = (job: KubeObject) => {
      // The image's paths, mapped onto this machine; everything else is the Job's own environment.
      pod = fake.runContainer(job, {
        IGNITE_WORK_DIR: podWork,
        HOME: join(podWork, 'home'),
        TMPDIR: podWork,
        CARGO_HOME: join(cacheDir, 'cargo-home'),
        CARGO_TARGET_DIR: join(cacheDir, 'target', `k8s-fake-pod-${toolchainKey}`),
        PATH: `${toolchain.dir}/bin:/usr/bin:/bin`,
      });
    };
    const request: BuildRequest = {
      buildId,
      workDir,
      projectDir: source,
      binName: project.binName,
      target: 'native',
      outputPath: join(workDir, 'out', project.binName),
      timeoutMs: 800_000,
    };
    const lines: string[] = [];
    try {
      const outcome = await executor.build(request, (stream, text) => lines.push(`${stream}: ${text}`), new AbortController().signal);
      return { outcome, request, lines };
    } catch (error) {
      return { error, request, lines };
    } finally {
      fake.onJobCreated = undefined;
      await pod;
    }
  };

  it('builds rust-hello into a binary that starts and answers its readiness probe', async () => {
    const source = rustHelloUserSource();
    try {
      const result = await build(source);
      if ('error' in result) throw new Error(`build failed: ${String(result.error)}\n${result.lines.slice(-40).join('\n')}`);
      expect(result.outcome).toEqual({ toolchain: toolchain.version, targetTriple: 'x86_64-unknown-linux-gnu' });
      expect(result.lines).toEqual(
        expect.arrayContaining([
          `system: toolchain ${toolchain.version}`,
          'system: downloading the build context',
          'system: artifact uploaded',
        ]),
      );
      expect(
        result.lines.some((line) =>
          /^system: build context: \[dependencies\] ignite: path .* → .*\/opt\/ignite\/sdk\/ignite-rs\/ignite/.test(line),
        ),
      ).toBe(true);
      await assertNativeExecutable(result.request.outputPath);
      await verifyNativeStarts(result.request.outputPath, { timeoutMs: 10_000, sandbox: 'none' });
    } finally {
      await rm(source, { recursive: true, force: true });
    }
  });

  it('reports a compile error with rustc’s own diagnostics', async () => {
    const source = writeFunctionSource('k8s-broken', {
      'src/lib.rs':
        'use ignite::prelude::*;\n\n#[ignite::main]\nasync fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {\n    let n: u32 = "not a number";\n    Ok(serde_json::json!({ "n": n }))\n}\n',
    });
    try {
      const result = await build(source);
      expect('error' in result).toBe(true);
      const failure = (result as { error: unknown }).error;
      expect(failure).toBeInstanceOf(BuildFailure);
      expect(failure).toMatchObject({ kind: 'compile', message: 'src/lib.rs:5:18: mismatched types' });
      expect((failure as BuildFailure).diagnostics).toContain('src/lib.rs:5:18: mismatched types');
      expect(result.lines.some((line) => line.startsWith('stdout: error[E0308]: mismatched types'))).toBe(true);
      expect(result.lines).toContain('system: error: cargo build failed (exit code 101)');
    } finally {
      await rm(source, { recursive: true, force: true });
    }
  });
});
