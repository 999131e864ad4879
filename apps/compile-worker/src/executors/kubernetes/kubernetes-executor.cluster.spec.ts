import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateBuildTokenKey } from '@ignite/build-tokens';
import { prepareProject } from '@ignite/function-manifest';
import { repoRoot, rustHelloUserSource } from '@ignite/testing';
import { assertNativeExecutable, verifyNativeStarts } from '../../pipeline/verify-artifact';
import { BuildFailure, type BuildRequest } from '../build-executor';
import { assertEsmRequireSupported } from './testing/esm-support';
import { startInternalApi } from './testing/internal-api';

// The real-cluster tier, opt-in: the executor against the cluster of KUBECONFIG, with the compile
// image, building rust-hello. Build pods must reach the internal endpoints this spec serves on
// this machine, at IGNITE_API_INTERNAL_URL. See charts/ignite/README.md, "Testing against a cluster".
//
//   K8S_INTEGRATION=1                          turns it on
//   KUBECONFIG=~/.kube/config                  the cluster (KubeConfig.loadFromDefault())
//   K8S_NAMESPACE=ignite-it                    an existing namespace to run the Jobs in
//   K8S_BUILD_IMAGE=<compile image>            docker/compile.Dockerfile, pullable by the cluster
//   K8S_IT_API_PORT=18080                      where this spec serves the internal endpoints (0.0.0.0)
//   IGNITE_API_INTERNAL_URL=http://<this machine as pods see it>:18080
const SKIP_REASON = 'set K8S_INTEGRATION=1 and KUBECONFIG to run against a real cluster';

if (process.env.K8S_INTEGRATION !== '1') {
  describe('KubernetesExecutor on a real cluster', () => {
    it.skip(SKIP_REASON, () => undefined);
  });
} else {
  jest.setTimeout(1_800_000);
  assertEsmRequireSupported();
  const { BatchV1Api, KubeConfig } = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  const { KubernetesExecutor } = require('./kubernetes-executor') as typeof import('./kubernetes-executor');

  const required = (name: string): string => {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is required with K8S_INTEGRATION=1 (see the top of this spec)`);
    return value;
  };

  describe('KubernetesExecutor on a real cluster', () => {
    const tokenKey = generateBuildTokenKey();
    const sdkPath = join(repoRoot, 'sdk', 'ignite-rs', 'ignite');
    let root: string;
    let api: { url: string; close: () => Promise<void> };
    let executor: InstanceType<typeof KubernetesExecutor>;
    let batch: InstanceType<typeof BatchV1Api>;
    const namespace = process.env.K8S_NAMESPACE ?? 'ignite-it';

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), 'k8s-it-'));
      api = await startInternalApi(
        { dataDir: join(root, 'data'), tokenKey: Buffer.from(tokenKey), maxArtifactBytes: 256 * 1024 * 1024, clockToleranceSeconds: 30 },
        { host: '0.0.0.0', port: Number(process.env.K8S_IT_API_PORT ?? 18080) },
      );
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromDefault();
      batch = kubeConfig.makeApiClient(BatchV1Api);
      executor = new KubernetesExecutor(
        {
          namespace,
          image: required('K8S_BUILD_IMAGE'),
          imagePullPolicy: 'IfNotPresent',
          imagePullSecrets: [],
          resources: { cpuRequest: '500m', cpuLimit: '2', memoryRequest: '1Gi', memoryLimit: '3Gi' },
          workSizeLimit: '10Gi',
          tmpSizeLimit: '1Gi',
          jobTtlSeconds: 300,
          sdk: { onWorker: sdkPath, inImage: '/opt/ignite/sdk/ignite-rs/ignite' },
          seedDir: '/opt/ignite/seed',
          apiInternalUrl: required('IGNITE_API_INTERNAL_URL'),
          tokenKey,
          dataDir: join(root, 'data'),
          logMaxBytes: 4 * 1024 * 1024,
          pollIntervalMs: 1000,
          schedulingTimeoutMs: 300_000,
          apiTimeoutMs: 15_000,
          apiErrorBudgetMs: 60_000,
        },
        kubeConfig,
      );
    });

    afterAll(async () => {
      await api?.close();
      await rm(root, { recursive: true, force: true });
    });

    const request = async (): Promise<BuildRequest> => {
      const source = rustHelloUserSource();
      const project = await prepareProject(source, { sdkPath, target: 'native' });
      const buildId = randomUUID();
      const workDir = join(root, 'builds', buildId);
      await mkdir(workDir, { recursive: true });
      return {
        buildId,
        workDir,
        projectDir: source,
        binName: project.binName,
        target: 'native',
        outputPath: join(workDir, 'out', project.binName),
        timeoutMs: 900_000,
      };
    };

    it('builds rust-hello in a Job into a binary that starts', async () => {
      const build = await request();
      const lines: string[] = [];
      const outcome = await executor
        .build(build, (stream, text) => lines.push(`${stream}: ${text}`), new AbortController().signal)
        .catch((error: unknown) => {
          throw new Error(`${String(error)}\n${lines.slice(-60).join('\n')}`);
        });
      expect(outcome.targetTriple).toBe('x86_64-unknown-linux-gnu');
      expect(outcome.toolchain).toMatch(/^rustc 1\.93\./);
      await assertNativeExecutable(build.outputPath);
      await verifyNativeStarts(build.outputPath, { timeoutMs: 10_000, sandbox: 'none' });
      await rm(build.projectDir, { recursive: true, force: true });
    });

    it('cancels a running build and removes its Job', async () => {
      const build = await request();
      const controller = new AbortController();
      const lines: string[] = [];
      const running = executor.build(
        build,
        (stream, text) => {
          lines.push(`${stream}: ${text}`);
          if (text.startsWith('Job ') && text.includes('created')) setTimeout(() => controller.abort(), 5000);
        },
        controller.signal,
      );
      await expect(running).rejects.toMatchObject({ kind: 'canceled' } satisfies Partial<BuildFailure>);
      // The Job is gone (its pod follows through garbage collection).
      const read = await batch.readNamespacedJob({ name: `ignite-build-${build.buildId}`, namespace }).then(
        () => 200,
        (error: { code?: number }) => error.code,
      );
      expect(read).toBe(404);
      await rm(build.projectDir, { recursive: true, force: true });
    });
  });
}
