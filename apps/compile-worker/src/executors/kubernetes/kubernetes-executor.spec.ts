import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUILD_ARTIFACT_MEDIA_TYPE,
  BUILD_ARTIFACT_SHA256_HEADER,
  buildArtifactUrl,
  buildExchangeDir,
  generateBuildTokenKey,
} from '@ignite/build-tokens';
import { parseCargoManifest, prepareProject } from '@ignite/function-manifest';
import { repoRoot, waitFor, writeFunctionSource } from '@ignite/testing';
import * as tar from 'tar';
import { BuildFailure, type BuildRequest, type LogStream } from '../build-executor';
import type { KubernetesExecutorOptions } from './kubernetes-executor';
import { assertEsmRequireSupported } from './testing/esm-support';
import type { FakeKubernetes as FakeKubernetesType, KubeObject } from './testing/fake-kubernetes';
import { startInternalApi } from './testing/internal-api';

// The executor against a fake Kubernetes API (no cluster runs on these machines) and the API's real
// internal endpoints: the "pod" each scenario plays downloads the real context and uploads through
// the real endpoint with the tokens the executor put in the Job.
assertEsmRequireSupported();
const { KubernetesExecutor } = require('./kubernetes-executor') as typeof import('./kubernetes-executor');
const { FakeKubernetes } = require('./testing/fake-kubernetes') as typeof import('./testing/fake-kubernetes');

const NAMESPACE = 'ignite-builds-test';
const IMAGE = 'registry.example.com/ignite/compile:1.93';
const SDK_PATH = join(repoRoot, 'sdk', 'ignite-rs', 'ignite');
const SDK_IN_IMAGE = '/opt/ignite/sdk/ignite-rs/ignite';

const jobPath = (name: string) => new RegExp(`^/apis/batch/v1/namespaces/${NAMESPACE}/jobs/${name}$`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const envOf = (job: KubeObject): Record<string, string> =>
  Object.fromEntries(
    (job.spec.template.spec.containers[0].env as { name: string; value: string }[]).map((variable) => [variable.name, variable.value]),
  );

const cargoJson = {
  artifact: JSON.stringify({ reason: 'compiler-artifact', package_id: 'serde 1.0.0', target: { name: 'serde' }, fresh: true }),
  warning: JSON.stringify({
    reason: 'compiler-message',
    message: {
      level: 'warning',
      message: 'unused variable: `x`',
      rendered: 'warning: unused variable: `x`\n --> src/lib.rs:4:9\n',
      spans: [],
    },
  }),
  error: JSON.stringify({
    reason: 'compiler-message',
    message: {
      level: 'error',
      message: 'mismatched types',
      rendered: 'error[E0308]: mismatched types\n --> src/lib.rs:7:5\n  |\n7 |     42\n  |     ^^ expected `Result<_, _>`, found integer\n',
      spans: [{ file_name: 'src/lib.rs', line_start: 7, column_start: 5, is_primary: true }],
    },
  }),
  finished: JSON.stringify({ reason: 'build-finished', success: false }),
};

describe('KubernetesExecutor against a fake Kubernetes API', () => {
  const tokenKey = generateBuildTokenKey();
  let root: string;
  let dataDir: string;
  let fake: FakeKubernetesType;
  let api: { url: string; close: () => Promise<void> };
  let projectDir: string;
  let binName: string;
  let scenario: Promise<void> | undefined;

  const executorOptions = (overrides: Partial<KubernetesExecutorOptions> = {}): KubernetesExecutorOptions => ({
    namespace: NAMESPACE,
    image: IMAGE,
    imagePullPolicy: 'IfNotPresent',
    imagePullSecrets: [],
    resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '2Gi', memoryLimit: '4Gi' },
    workSizeLimit: '10Gi',
    tmpSizeLimit: '1Gi',
    jobTtlSeconds: 600,
    sdk: { onWorker: SDK_PATH, inImage: SDK_IN_IMAGE },
    seedDir: '/opt/ignite/seed',
    apiInternalUrl: api.url,
    tokenKey,
    dataDir,
    logMaxBytes: 1024 * 1024,
    pollIntervalMs: 40,
    schedulingTimeoutMs: 400,
    apiTimeoutMs: 2000,
    apiErrorBudgetMs: 400,
    deadlineGraceMs: 5000,
    logDrainTimeoutMs: 2000,
    ...overrides,
  });

  const newBuild = async (
    timeoutMs = 30_000,
  ): Promise<{ request: BuildRequest; jobName: string; lines: { stream: LogStream; text: string }[] }> => {
    const buildId = randomUUID();
    const workDir = join(root, 'builds', buildId);
    await mkdir(workDir, { recursive: true });
    return {
      request: { buildId, workDir, projectDir, binName, target: 'native', outputPath: join(workDir, 'out', binName), timeoutMs },
      jobName: `ignite-build-${buildId}`,
      lines: [],
    };
  };

  /** Plays the cluster's part for the next Job the executor creates. */
  const onNextJob = (play: (job: KubeObject, namespace: string) => Promise<void>) => {
    scenario = new Promise<void>((resolve, reject) => {
      fake.onJobCreated = (job) => {
        fake.onJobCreated = undefined;
        play(job, job.metadata.namespace).then(resolve, reject);
      };
    });
  };

  const failureOf = async (promise: Promise<unknown>): Promise<BuildFailure> => {
    const outcome = await promise.then(
      () => new Error('the build succeeded'),
      (error: unknown) => error,
    );
    if (!(outcome instanceof BuildFailure)) throw outcome;
    return outcome;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'k8s-executor-'));
    dataDir = join(root, 'data');
    fake = new FakeKubernetes();
    await fake.start();
    api = await startInternalApi({ dataDir, tokenKey: Buffer.from(tokenKey), maxArtifactBytes: 1024 * 1024, clockToleranceSeconds: 0 });
    const source = writeFunctionSource('k8s-hello', {
      'src/lib.rs':
        'use ignite::prelude::*;\n\n#[ignite::main]\nasync fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {\n    Ok(serde_json::json!({ "ok": true }))\n}\n',
    });
    projectDir = source;
    binName = (await prepareProject(projectDir, { sdkPath: SDK_PATH, target: 'native' })).binName;
  });

  afterEach(async () => {
    fake.onJobCreated = undefined;
    fake.failAllRequestsWith = undefined;
    const pending = scenario;
    scenario = undefined;
    await pending;
  });

  afterAll(async () => {
    await api?.close();
    await fake?.stop();
    await rm(root, { recursive: true, force: true });
    await rm(projectDir, { recursive: true, force: true });
  });

  it('runs a build as a Job: context in, cargo log out, artifact back through the internal endpoint', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request, jobName, lines } = await newBuild();
    const artifact = Buffer.from('\x7fELF... the function binary');
    let contextManifest: string | undefined;
    let crossBuildStatus: number | undefined;

    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      await sleep(100);
      fake.setRunning(namespace, pod);
      const env = envOf(job);
      fake.appendLog(namespace, pod, 'ignite-build: toolchain rustc 1.93.0 (254b59607 2026-01-19)');
      fake.appendLog(namespace, pod, 'ignite-build: downloading the build context');
      const context = await fetch(env.IGNITE_CONTEXT_URL!, { headers: { authorization: `Bearer ${env.IGNITE_CONTEXT_TOKEN}` } });
      expect(context.status).toBe(200);
      const unpacked = await mkdtemp(join(root, 'pod-'));
      await writeFile(join(unpacked, 'context.tar.gz'), Buffer.from(await context.arrayBuffer()));
      await tar.extract({ file: join(unpacked, 'context.tar.gz'), cwd: unpacked });
      contextManifest = await readFile(join(unpacked, 'Cargo.toml'), 'utf8');

      fake.appendLog(namespace, pod, '   Compiling k8s-hello v0.1.0 (/work/src)');
      fake.appendLog(namespace, pod, cargoJson.artifact);
      fake.appendLog(namespace, pod, cargoJson.warning);
      await sleep(100);
      // The pod's artifact token does not reach another build.
      crossBuildStatus = (
        await fetch(buildArtifactUrl(api.url, randomUUID()), {
          method: 'PUT',
          body: artifact,
          headers: {
            authorization: `Bearer ${env.IGNITE_ARTIFACT_TOKEN}`,
            'content-type': BUILD_ARTIFACT_MEDIA_TYPE,
            [BUILD_ARTIFACT_SHA256_HEADER]: createHash('sha256').update(artifact).digest('hex'),
          },
        })
      ).status;
      const upload = await fetch(env.IGNITE_ARTIFACT_URL!, {
        method: 'PUT',
        body: artifact,
        headers: {
          authorization: `Bearer ${env.IGNITE_ARTIFACT_TOKEN}`,
          'content-type': BUILD_ARTIFACT_MEDIA_TYPE,
          [BUILD_ARTIFACT_SHA256_HEADER]: createHash('sha256').update(artifact).digest('hex'),
        },
      });
      expect(upload.status).toBe(201);
      fake.appendLog(namespace, pod, 'ignite-build: artifact uploaded');
      fake.terminate(namespace, pod, 0);
      fake.completeJob(namespace, job.metadata.name);
    });

    const outcome = await executor.build(request, (stream, text) => lines.push({ stream, text }), new AbortController().signal);

    expect(outcome).toEqual({ toolchain: 'rustc 1.93.0 (254b59607 2026-01-19)', targetTriple: 'x86_64-unknown-linux-gnu' });
    expect(await readFile(request.outputPath)).toEqual(artifact);
    expect((await stat(request.outputPath)).mode & 0o111).toBe(0o111);
    expect(crossBuildStatus).toBe(403);

    // The context's Cargo.toml points at the SDK inside the image, not at the worker's checkout.
    const manifest = parseCargoManifest(contextManifest!) as { dependencies: { ignite: { path: string } } };
    expect(manifest.dependencies.ignite.path).toBe(SDK_IN_IMAGE);
    expect(contextManifest).not.toContain(repoRoot);

    // The pod's log became the build log: cargo's JSON turned into text, its artifacts left out.
    const text = lines.map((line) => `${line.stream}: ${line.text}`);
    expect(text).toEqual(
      expect.arrayContaining([
        'system: toolchain rustc 1.93.0 (254b59607 2026-01-19)',
        'stderr:    Compiling k8s-hello v0.1.0 (/work/src)',
        'stdout: warning: unused variable: `x`',
        'system: artifact uploaded',
      ]),
    );
    expect(text.some((line) => line.includes('compiler-artifact'))).toBe(false);
    expect(text.filter((line) => line === 'system: artifact uploaded')).toHaveLength(1);

    // What the executor asked of the API server.
    const [created] = fake.requestsTo('POST', new RegExp(`^/apis/batch/v1/namespaces/${NAMESPACE}/jobs$`));
    expect(created?.body?.metadata).toMatchObject({
      name: jobName,
      labels: {
        'app.kubernetes.io/name': 'ignite-build',
        'app.kubernetes.io/part-of': 'ignite',
        'app.kubernetes.io/managed-by': 'ignite-compile-worker',
        'app.kubernetes.io/component': 'build',
        'ignite.dev/build-id': request.buildId,
      },
    });
    expect(Object.keys(envOf(created!.body!)).some((name) => /DATABASE|REDIS|PASSWORD/.test(name))).toBe(false);
    expect(fake.requestsTo('GET', jobPath(jobName)).length).toBeGreaterThan(0);
    const podLists = fake.requestsTo('GET', new RegExp(`^/api/v1/namespaces/${NAMESPACE}/pods$`));
    expect(podLists[0]?.query).toMatchObject({ labelSelector: `ignite.dev/build-id=${request.buildId}` });
    const follows = fake.requestsTo('GET', new RegExp(`^/api/v1/namespaces/${NAMESPACE}/pods/${jobName}-[a-z0-9-]+/log$`));
    expect(follows[0]?.query).toMatchObject({ container: 'build', follow: 'true', timestamps: 'true' });
    // A finished Job stays for its TTL (its log is worth reading); nothing was deleted.
    expect(fake.requestsTo('DELETE', jobPath(jobName))).toHaveLength(0);
    // The hand-over directory is gone.
    expect(existsSync(buildExchangeDir(dataDir, request.buildId))).toBe(false);
  });

  it('fails a compile error with cargo’s first error and its diagnostics', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request, lines } = await newBuild();
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      for (const line of ['ignite-build: toolchain rustc 1.93.0', cargoJson.warning, cargoJson.error, cargoJson.finished])
        fake.appendLog(namespace, pod, line);
      fake.appendLog(namespace, pod, 'error: could not compile `k8s-hello` (lib) due to 1 previous error');
      fake.appendLog(namespace, pod, 'ignite-build: error: cargo build failed (exit code 101)');
      await sleep(150);
      fake.terminate(namespace, pod, 12);
      fake.failJob(namespace, job.metadata.name, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    });

    const failure = await failureOf(executor.build(request, (stream, text) => lines.push({ stream, text }), new AbortController().signal));
    expect(failure.kind).toBe('compile');
    expect(failure.message).toBe('src/lib.rs:7:5: mismatched types');
    expect(failure.diagnostics).toEqual(['src/lib.rs:7:5: mismatched types']);
    expect(lines.map((line) => line.text)).toEqual(
      expect.arrayContaining(['error[E0308]: mismatched types', 'error: cargo build failed (exit code 101)']),
    );
    expect(existsSync(request.outputPath)).toBe(false);
  });

  it('fails a build whose image cannot be pulled, and deletes its Job', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request, jobName } = await newBuild();
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      await sleep(80);
      fake.setWaiting(
        namespace,
        pod,
        'ErrImagePull',
        `rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": not found`,
      );
    });

    const failure = await failureOf(executor.build(request, () => undefined, new AbortController().signal));
    expect(failure.kind).toBe('infrastructure');
    expect(failure.message).toBe(
      `the build image ${IMAGE} could not be pulled (ErrImagePull): rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": not found`,
    );
    expect(fake.requestsTo('DELETE', jobPath(jobName))[0]?.query).toMatchObject({ propagationPolicy: 'Background' });
    expect(fake.job(NAMESPACE, jobName)).toBeUndefined();
  });

  it('waits for a node up to the scheduling timeout, then fails with the scheduler’s reason', async () => {
    const executor = new KubernetesExecutor(executorOptions({ schedulingTimeoutMs: 400 }), fake.kubeConfig());
    const { request, jobName, lines } = await newBuild();
    const reason =
      '0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setUnschedulable(namespace, pod, reason);
    });

    const started = Date.now();
    const failure = await failureOf(executor.build(request, (stream, text) => lines.push({ stream, text }), new AbortController().signal));
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(failure.kind).toBe('infrastructure');
    expect(failure.message).toMatch(/^the build pod could not be scheduled for \d+ s: 0\/3 nodes are available: 3 Insufficient cpu\./);
    expect(lines.some((line) => line.text === `build pod pending: waiting for a node: ${reason}`)).toBe(true);
    expect(fake.requestsTo('DELETE', jobPath(jobName))[0]?.query).toMatchObject({ propagationPolicy: 'Background' });
  });

  it('reports a Job killed at its deadline as a timeout', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request, jobName } = await newBuild(2000);
    onNextJob(async (job, namespace) => {
      expect(job.spec.activeDeadlineSeconds).toBe(2);
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      fake.appendLog(namespace, pod, '   Compiling tokio v1.47.0');
      await sleep(150);
      fake.terminate(namespace, pod, 137, 'Error');
      fake.failJob(namespace, job.metadata.name, 'DeadlineExceeded', 'Job was active longer than specified deadline');
    });

    const failure = await failureOf(executor.build(request, () => undefined, new AbortController().signal));
    expect(failure.kind).toBe('timeout');
    expect(failure.message).toBe('build exceeded its time limit of 2 s');
    expect(fake.job(NAMESPACE, jobName)).toBeDefined();
  });

  it('cancels: deletes the Job with its pod (propagationPolicy Background)', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request, jobName, lines } = await newBuild();
    const controller = new AbortController();
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      fake.appendLog(namespace, pod, '   Compiling serde v1.0.228');
      await waitFor(() => (lines.some((line) => line.text.includes('Compiling serde')) ? true : undefined), 5000, 'the first log line');
      controller.abort();
    });

    const failure = await failureOf(executor.build(request, (stream, text) => lines.push({ stream, text }), controller.signal));
    expect(failure.kind).toBe('canceled');
    const deletes = fake.requestsTo('DELETE', jobPath(jobName));
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.query).toMatchObject({ propagationPolicy: 'Background' });
    expect(fake.job(NAMESPACE, jobName)).toBeUndefined();
    expect(existsSync(buildExchangeDir(dataDir, request.buildId))).toBe(false);
  });

  it('resumes a log follow the server cut, without losing or repeating lines', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request, lines } = await newBuild();
    const artifact = Buffer.from('binary');
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      for (let n = 1; n <= 3; n++) fake.appendLog(namespace, pod, `line ${n}`);
      await waitFor(() => (lines.some((line) => line.text === 'line 3') ? true : undefined), 5000, 'line 3');
      fake.dropLogFollowers(namespace, pod);
      for (let n = 4; n <= 6; n++) fake.appendLog(namespace, pod, `line ${n}`);
      await waitFor(() => (lines.some((line) => line.text === 'line 6') ? true : undefined), 5000, 'line 6 (after the resume)');
      fake.appendLog(namespace, pod, 'line 7');
      const env = envOf(job);
      await fetch(env.IGNITE_ARTIFACT_URL!, {
        method: 'PUT',
        body: artifact,
        headers: {
          authorization: `Bearer ${env.IGNITE_ARTIFACT_TOKEN}`,
          'content-type': BUILD_ARTIFACT_MEDIA_TYPE,
          [BUILD_ARTIFACT_SHA256_HEADER]: createHash('sha256').update(artifact).digest('hex'),
        },
      });
      fake.terminate(namespace, pod, 0);
      fake.completeJob(namespace, job.metadata.name);
    });

    await executor.build(request, (stream, text) => lines.push({ stream, text }), new AbortController().signal);
    expect(lines.filter((line) => line.text.startsWith('line ')).map((line) => line.text)).toEqual([
      'line 1',
      'line 2',
      'line 3',
      'line 4',
      'line 5',
      'line 6',
      'line 7',
    ]);
    expect(fake.requestsTo('GET', /\/log$/).some((request) => request.query.sinceTime !== undefined)).toBe(true);
  });

  it('reports a build that ran out of memory', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request } = await newBuild();
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      fake.appendLog(namespace, pod, '   Compiling syn v2.0.100');
      fake.terminate(namespace, pod, 137, 'OOMKilled');
      fake.failJob(namespace, job.metadata.name, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    });

    const failure = await failureOf(executor.build(request, () => undefined, new AbortController().signal));
    expect(failure.kind).toBe('compile');
    expect(failure.message).toMatch(/^the build ran out of memory \(limit 4Gi\)/);
  });

  it('fails when the Job completes without an artifact, or disappears', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const first = await newBuild();
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      fake.terminate(namespace, pod, 0);
      fake.completeJob(namespace, job.metadata.name);
    });
    const missing = await failureOf(executor.build(first.request, () => undefined, new AbortController().signal));
    expect(missing).toMatchObject({ kind: 'infrastructure', message: 'the build pod finished without uploading its artifact' });

    const second = await newBuild();
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      await sleep(100);
      // Someone deletes it with kubectl.
      await fetch(`${fake.url}/apis/batch/v1/namespaces/${namespace}/jobs/${job.metadata.name}`, {
        method: 'DELETE',
        headers: { authorization: 'Bearer fake-token' },
      });
    });
    const vanished = await failureOf(executor.build(second.request, () => undefined, new AbortController().signal));
    expect(vanished.kind).toBe('infrastructure');
    expect(vanished.message).toMatch(/disappeared before it finished/);
  });

  it('gives up after the Kubernetes API keeps failing past its error budget, and cleans up', async () => {
    const executor = new KubernetesExecutor(executorOptions({ apiErrorBudgetMs: 300 }), fake.kubeConfig());
    const { request, lines } = await newBuild();
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      fake.failAllRequestsWith = { code: 503, message: 'etcdserver: request timed out' };
    });
    const failure = await failureOf(executor.build(request, (stream, text) => lines.push({ stream, text }), new AbortController().signal));
    expect(failure.kind).toBe('infrastructure');
    expect(failure.message).toBe('lost contact with the Kubernetes API: HTTP 503: etcdserver: request timed out');
    expect(lines.some((line) => line.text.startsWith('Kubernetes API error (retrying): HTTP 503'))).toBe(true);
  });

  it('replaces a Job left by an earlier attempt of the same build', async () => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const { request, jobName, lines } = await newBuild();
    fake.seedJob({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: jobName, namespace: NAMESPACE, labels: { 'ignite.dev/build-id': request.buildId } },
      spec: { template: { metadata: { labels: {} }, spec: { containers: [{ name: 'build', image: IMAGE }] } } },
    });
    onNextJob(async (job, namespace) => {
      const pod = fake.createPod(job);
      fake.setRunning(namespace, pod);
      fake.terminate(namespace, pod, 12);
      fake.failJob(namespace, job.metadata.name, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    });
    const failure = await failureOf(executor.build(request, (stream, text) => lines.push({ stream, text }), new AbortController().signal));
    expect(failure).toMatchObject({ kind: 'compile', message: 'cargo build failed (exit code 12)' });
    expect(lines.some((line) => line.text === `a Job ${jobName} of an earlier attempt exists; replacing it`)).toBe(true);
    expect(fake.requestsTo('POST', /\/jobs$/).filter((post) => post.body?.metadata?.name === jobName)).toHaveLength(2);
  });

  it('reconciles orphans: deletes Jobs of builds no longer running, reports running builds without a Job', async () => {
    // A cluster of its own: the Jobs the other scenarios left (finished, waiting for their TTL) would be orphans too.
    const cluster = new FakeKubernetes();
    await cluster.start();
    try {
      await reconcileIn(cluster);
    } finally {
      await cluster.stop();
    }
  });

  const reconcileIn = async (fake: FakeKubernetesType) => {
    const executor = new KubernetesExecutor(executorOptions(), fake.kubeConfig());
    const [finished, running, lost] = [randomUUID(), randomUUID(), randomUUID()];
    const labels = (buildId: string) => ({
      'app.kubernetes.io/name': 'ignite-build',
      'app.kubernetes.io/part-of': 'ignite',
      'app.kubernetes.io/managed-by': 'ignite-compile-worker',
      'app.kubernetes.io/component': 'build',
      'ignite.dev/build-id': buildId,
    });
    const seed = (name: string, jobLabels: Record<string, string>) =>
      fake.seedJob({
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name, namespace: NAMESPACE, labels: jobLabels },
        spec: { template: { metadata: { labels: jobLabels }, spec: { containers: [{ name: 'build', image: IMAGE }] } } },
      });
    seed(`ignite-build-${finished}`, labels(finished));
    seed(`ignite-build-${running}`, labels(running));
    seed('someone-elses-job', { app: 'other' });
    for (const buildId of [finished, running]) {
      await mkdir(buildExchangeDir(dataDir, buildId), { recursive: true });
    }

    const report = await executor.reconcileOrphans([running, lost]);

    expect(report).toEqual({ deletedJobs: [{ buildId: finished, jobName: `ignite-build-${finished}` }], vanishedBuildIds: [lost] });
    const listed = fake.requestsTo('GET', new RegExp(`^/apis/batch/v1/namespaces/${NAMESPACE}/jobs$`)).at(-1);
    expect(listed?.query.labelSelector).toBe('app.kubernetes.io/managed-by=ignite-compile-worker,app.kubernetes.io/component=build');
    expect(fake.requestsTo('DELETE', jobPath(`ignite-build-${finished}`))[0]?.query).toMatchObject({ propagationPolicy: 'Background' });
    expect(fake.requestsTo('DELETE', jobPath(`ignite-build-${running}`))).toHaveLength(0);
    expect(fake.job(NAMESPACE, 'someone-elses-job')).toBeDefined();
    expect(existsSync(buildExchangeDir(dataDir, finished))).toBe(false);
    expect(existsSync(buildExchangeDir(dataDir, running))).toBe(true);
  };
});
