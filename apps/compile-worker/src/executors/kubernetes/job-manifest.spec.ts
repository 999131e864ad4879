import { BUILD_EXIT_CODES, buildPodScript } from './build-script';
import { type BuildJobOptions, buildJobManifest, buildJobName } from './job-manifest';
import { kubernetesExecutorConfigSchema } from './kubernetes-config';

const BUILD_ID = '0192f3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d';

const options = (overrides: Partial<BuildJobOptions> = {}): BuildJobOptions => ({
  buildId: BUILD_ID,
  namespace: 'ignite-builds',
  binName: 'rust-hello',
  target: 'native',
  timeoutMs: 600_000,
  image: 'registry.example.com/ignite/compile:1.93',
  imagePullPolicy: 'IfNotPresent',
  imagePullSecrets: [],
  ttlSecondsAfterFinished: 600,
  resources: { cpuRequest: '1', cpuLimit: '2', memoryRequest: '2Gi', memoryLimit: '4Gi' },
  workSizeLimit: '10Gi',
  tmpSizeLimit: '1Gi',
  seedDir: '/opt/ignite/seed',
  contextUrl: `http://ignite-api.ignite.svc:8080/internal/v1/builds/${BUILD_ID}/context`,
  contextToken: 'ibt1.context-token',
  artifactUrl: `http://ignite-api.ignite.svc:8080/internal/v1/builds/${BUILD_ID}/artifact`,
  artifactToken: 'ibt1.artifact-token',
  ...overrides,
});

describe('buildJobManifest', () => {
  it('is one never-retried pod, time-boxed, garbage-collected after its TTL', () => {
    const job = buildJobManifest(options());
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(job.metadata).toMatchObject({ name: `ignite-build-${BUILD_ID}`, namespace: 'ignite-builds' });
    expect(job.spec).toMatchObject({
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 600,
    });
    expect(job.spec?.template.spec?.restartPolicy).toBe('Never');
    expect(buildJobManifest(options({ timeoutMs: 1500 })).spec?.activeDeadlineSeconds).toBe(2);
  });

  it('labels the Job and its pod for the worker (and people) to find them', () => {
    const job = buildJobManifest(options());
    const labels = {
      'app.kubernetes.io/name': 'ignite-build',
      'app.kubernetes.io/part-of': 'ignite',
      'app.kubernetes.io/managed-by': 'ignite-compile-worker',
      'app.kubernetes.io/component': 'build',
      'ignite.dev/build-id': BUILD_ID,
    };
    expect(job.metadata?.labels).toEqual(labels);
    expect(job.spec?.template.metadata?.labels).toEqual(labels);
    expect(job.metadata?.annotations).toEqual({ 'ignite.dev/target': 'native' });
  });

  it('locks the pod down: non-root, no privilege, no capabilities, no token, read-only root with emptyDirs', () => {
    const pod = buildJobManifest(options()).spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers).toHaveLength(1);
    const container = pod.containers[0]!;
    expect(container.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.volumeMounts).toEqual([
      { name: 'work', mountPath: '/work' },
      { name: 'tmp', mountPath: '/tmp' },
    ]);
    expect(pod.volumes).toEqual([
      { name: 'work', emptyDir: { sizeLimit: '10Gi' } },
      { name: 'tmp', emptyDir: { sizeLimit: '1Gi' } },
    ]);
    expect(container.resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '2', memory: '4Gi' } });
    expect(container.image).toBe('registry.example.com/ignite/compile:1.93');
    expect(container.imagePullPolicy).toBe('IfNotPresent');
  });

  it('gives the pod the two URLs, their tokens and cargo settings — no platform credentials', () => {
    const container = buildJobManifest(options()).spec!.template.spec!.containers[0]!;
    const env = Object.fromEntries((container.env ?? []).map((variable) => [variable.name, variable.value]));
    expect(env).toEqual({
      IGNITE_BUILD_ID: BUILD_ID,
      IGNITE_CONTEXT_URL: options().contextUrl,
      IGNITE_CONTEXT_TOKEN: 'ibt1.context-token',
      IGNITE_ARTIFACT_URL: options().artifactUrl,
      IGNITE_ARTIFACT_TOKEN: 'ibt1.artifact-token',
      IGNITE_WORK_DIR: '/work',
      IGNITE_SEED_DIR: '/opt/ignite/seed',
      HOME: '/work/home',
      TMPDIR: '/tmp',
      CARGO_HOME: '/work/cargo-home',
      CARGO_TARGET_DIR: '/work/target',
      CARGO_TERM_COLOR: 'never',
      CARGO_NET_RETRY: '3',
    });
    expect((container.env ?? []).every((variable) => variable.valueFrom === undefined)).toBe(true);
  });

  it('runs the script with the build’s values as arguments, never spliced into shell text', () => {
    const native = buildJobManifest(options()).spec!.template.spec!.containers[0]!;
    expect(native.command).toEqual([
      '/bin/sh',
      '-c',
      buildPodScript(),
      'ignite-build',
      'rust-hello',
      'x86_64-unknown-linux-gnu',
      'rust-hello',
      'bin',
    ]);
    const wasm = buildJobManifest(options({ target: 'wasm', binName: 'rust_hello', crateKind: 'cdylib' })).spec!.template.spec!
      .containers[0]!;
    expect(wasm.command?.slice(3)).toEqual(['ignite-build', 'rust_hello', 'wasm32-wasip2', 'rust_hello.wasm', 'cdylib']);
    expect(buildPodScript()).not.toContain('rust-hello');
    expect(buildPodScript()).toContain(`fail ${BUILD_EXIT_CODES.compile} "cargo build failed`);
    expect(buildPodScript()).toContain('if [ "$crate_kind" = cdylib ]; then set -- --lib; else set -- --bin "$bin"; fi');
    expect(buildPodScript()).toContain('cargo build --release "$@" --target "$triple" --message-format=json');
  });

  it('places pods with pull secrets, a service account, a node selector and tolerations when configured', () => {
    const pod = buildJobManifest(
      options({
        imagePullSecrets: ['registry-creds'],
        serviceAccountName: 'ignite-build',
        nodeSelector: { 'ignite.dev/pool': 'builds' },
        tolerations: [{ key: 'builds', operator: 'Exists', effect: 'NoSchedule' }],
      }),
    ).spec!.template.spec!;
    expect(pod.imagePullSecrets).toEqual([{ name: 'registry-creds' }]);
    expect(pod.serviceAccountName).toBe('ignite-build');
    expect(pod.nodeSelector).toEqual({ 'ignite.dev/pool': 'builds' });
    expect(pod.tolerations).toEqual([{ key: 'builds', operator: 'Exists', effect: 'NoSchedule' }]);

    const plain = buildJobManifest(options()).spec!.template.spec!;
    for (const field of ['imagePullSecrets', 'serviceAccountName', 'nodeSelector', 'tolerations', 'runtimeClassName', 'hostUsers'] as const)
      expect(plain[field]).toBeUndefined();
  });

  it('runs pods under a RuntimeClass and in a user namespace of their own when configured', () => {
    const pod = buildJobManifest(options({ runtimeClassName: 'gvisor', hostUsers: false })).spec!.template.spec!;
    expect(pod.runtimeClassName).toBe('gvisor');
    expect(pod.hostUsers).toBe(false);
    expect(buildJobManifest(options({ hostUsers: true })).spec!.template.spec!.hostUsers).toBe(true);
  });

  it('refuses build ids and bin names that cannot be a Job name, a label or an argument', () => {
    expect(() => buildJobName('Build_1')).toThrow(/cannot name a Kubernetes Job/);
    expect(() => buildJobName('a'.repeat(51))).toThrow(/cannot name a Kubernetes Job/);
    expect(buildJobName('a'.repeat(50))).toHaveLength(63);
    expect(() => buildJobManifest(options({ binName: '--config=evil' }))).toThrow(/not a cargo bin name/);
  });
});

describe('kubernetesExecutorConfigSchema', () => {
  const required = {
    K8S_BUILD_IMAGE: 'ignite/compile:1.93',
    IGNITE_API_INTERNAL_URL: 'http://ignite-api.ignite.svc:8080',
    IGNITE_BUILD_TOKEN_KEY: 'k'.repeat(48),
  };

  it('has defaults for everything but the image, the API URL and the token key', () => {
    const config = kubernetesExecutorConfigSchema.parse(required);
    expect(config).toMatchObject({
      K8S_NAMESPACE: 'ignite-builds',
      K8S_BUILD_CPU_REQUEST: '1',
      K8S_BUILD_CPU_LIMIT: '2',
      K8S_BUILD_MEMORY_REQUEST: '2Gi',
      K8S_BUILD_MEMORY_LIMIT: '4Gi',
      K8S_JOB_TTL_SECONDS: 600,
      K8S_SDK_PATH_IN_IMAGE: '/opt/ignite/sdk/ignite-rs/ignite',
      K8S_BUILD_IMAGE_PULL_SECRETS: [],
    });
    const missing = kubernetesExecutorConfigSchema.safeParse({});
    expect(missing.success).toBe(false);
    expect(missing.error?.issues.map((issue) => issue.path[0]).sort()).toEqual([
      'IGNITE_API_INTERNAL_URL',
      'IGNITE_BUILD_TOKEN_KEY',
      'K8S_BUILD_IMAGE',
    ]);
  });

  it('parses lists and JSON, and refuses what Kubernetes would refuse', () => {
    const config = kubernetesExecutorConfigSchema.parse({
      ...required,
      K8S_BUILD_IMAGE_PULL_SECRETS: 'a, b',
      K8S_BUILD_NODE_SELECTOR: '{"ignite.dev/pool":"builds"}',
      K8S_BUILD_TOLERATIONS: '[{"key":"builds","operator":"Exists","effect":"NoSchedule"}]',
      K8S_BUILD_CPU_REQUEST: '500m',
      K8S_BUILD_MEMORY_LIMIT: '8Gi',
    });
    expect(config.K8S_BUILD_IMAGE_PULL_SECRETS).toEqual(['a', 'b']);
    expect(config.K8S_BUILD_NODE_SELECTOR).toEqual({ 'ignite.dev/pool': 'builds' });
    expect(config.K8S_BUILD_TOLERATIONS).toEqual([{ key: 'builds', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(config.K8S_BUILD_RUNTIME_CLASS).toBeUndefined();
    expect(config.K8S_BUILD_HOST_USERS).toBeUndefined();
    const isolated = kubernetesExecutorConfigSchema.parse({
      ...required,
      K8S_BUILD_RUNTIME_CLASS: 'gvisor',
      K8S_BUILD_HOST_USERS: 'false',
    });
    expect(isolated).toMatchObject({ K8S_BUILD_RUNTIME_CLASS: 'gvisor', K8S_BUILD_HOST_USERS: false });
    expect(kubernetesExecutorConfigSchema.parse({ ...required, K8S_BUILD_RUNTIME_CLASS: '', K8S_BUILD_HOST_USERS: '' })).toMatchObject({
      K8S_BUILD_RUNTIME_CLASS: undefined,
      K8S_BUILD_HOST_USERS: undefined,
    });

    const bad = (env: Record<string, string>) =>
      kubernetesExecutorConfigSchema
        .safeParse({ ...required, ...env })
        .error?.issues.map((issue) => `${String(issue.path[0])}: ${issue.message}`);
    expect(bad({ K8S_NAMESPACE: 'Ignite_Builds' })?.[0]).toMatch(/^K8S_NAMESPACE: must be a DNS-1123 label/);
    expect(bad({ K8S_BUILD_CPU_LIMIT: 'two' })?.[0]).toMatch(/^K8S_BUILD_CPU_LIMIT: must be a Kubernetes quantity/);
    expect(bad({ K8S_BUILD_MEMORY_REQUEST: '8Gi', K8S_BUILD_MEMORY_LIMIT: '4Gi' })).toEqual([
      'K8S_BUILD_MEMORY_REQUEST: must not exceed K8S_BUILD_MEMORY_LIMIT (4Gi)',
    ]);
    expect(bad({ K8S_BUILD_CPU_REQUEST: '2500m', K8S_BUILD_CPU_LIMIT: '2' })).toEqual([
      'K8S_BUILD_CPU_REQUEST: must not exceed K8S_BUILD_CPU_LIMIT (2)',
    ]);
    expect(bad({ K8S_BUILD_NODE_SELECTOR: '{not json' })?.[0]).toMatch(/^K8S_BUILD_NODE_SELECTOR: must be JSON/);
    expect(bad({ IGNITE_BUILD_TOKEN_KEY: 'short' })).toEqual(['IGNITE_BUILD_TOKEN_KEY: must be at least 32 bytes']);
    expect(bad({ IGNITE_API_INTERNAL_URL: 'ftp://api' })?.[0]).toMatch(/^IGNITE_API_INTERNAL_URL: must be an http/);
    expect(bad({ K8S_SDK_PATH_IN_IMAGE: 'relative/sdk' })?.[0]).toMatch(/^K8S_SDK_PATH_IN_IMAGE: must be an absolute path/);
    expect(bad({ K8S_BUILD_RUNTIME_CLASS: 'gVisor' })?.[0]).toMatch(/^K8S_BUILD_RUNTIME_CLASS: must be a RuntimeClass name/);
    expect(bad({ K8S_BUILD_HOST_USERS: 'no' })?.[0]).toMatch(/^K8S_BUILD_HOST_USERS: /);
  });
});
