import { execFile, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';

// The Helm chart, rendered by a real helm (scripts/helm.sh installs a pinned one from source the
// first time: minutes; cached afterwards) with several values files, and checked object by object.
jest.setTimeout(900_000);

const run = promisify(execFile);
const repoRoot = join(__dirname, '..', '..');
const chart = join(repoRoot, 'charts', 'ignite');
const valuesDir = join(__dirname, 'values');
const RELEASE = 'ignite';
const NAMESPACE = 'platform';

// biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are plain YAML, navigated freely.
type K8sObject = Record<string, any>;

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> };
  livenessProbe?: K8sObject;
  readinessProbe?: K8sObject;
  securityContext?: K8sObject;
}

/** A zod schema, as far as these checks use one (the apps' schemas are loaded by path, see below). */
interface Schema {
  safeParse(value: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } };
}

let helm: string;

async function helmRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(helm, args, { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function render(valuesFiles: string[], extra: string[] = []): Promise<K8sObject[]> {
  const args = [
    'template',
    RELEASE,
    chart,
    '--namespace',
    NAMESPACE,
    ...valuesFiles.flatMap((file) => ['-f', join(valuesDir, file)]),
    ...extra,
  ];
  const { code, stdout, stderr } = await helmRun(args);
  if (code !== 0) throw new Error(`helm ${args.join(' ')} failed:\n${stderr}`);
  return parseAllDocuments(stdout)
    .map((document) => {
      if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors[0]?.message}`);
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

const ofKind = (objects: K8sObject[], kind: string) => objects.filter((object) => object.kind === kind);
const named = (objects: K8sObject[], kind: string, name: string) => {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered chart`);
  return found;
};
const podSpecOf = (object: K8sObject): K8sObject => (object.kind === 'Pod' ? object.spec : object.spec.template.spec);
const containersOf = (object: K8sObject): Container[] => [...(podSpecOf(object).initContainers ?? []), ...podSpecOf(object).containers];
const workloads = (objects: K8sObject[]) =>
  objects.filter((object) => ['Deployment', 'Job', 'Pod', 'StatefulSet', 'DaemonSet'].includes(object.kind));
const deployment = (objects: K8sObject[], component: string) => named(objects, 'Deployment', `${RELEASE}-${component}`);
const envOf = (container: Container, secrets: Record<string, string> = {}): Record<string, string> =>
  Object.fromEntries(
    (container.env ?? []).map((variable) => [
      variable.name,
      variable.value ?? secrets[variable.valueFrom?.secretKeyRef?.key ?? ''] ?? `<${variable.valueFrom?.secretKeyRef?.key}>`,
    ]),
  );

/** The apps' configuration schemas, loaded by path (the test project does not depend on the apps). */
function appSchema(path: string, exportName: string): Schema {
  const module = require(join(repoRoot, path)) as Record<string, Schema>;
  const schema = module[exportName];
  if (!schema) throw new Error(`${path} exports no ${exportName}`);
  return schema;
}

/** The values of the platform Secret the chart renders, for reading the env the apps will get. */
function secretValues(objects: K8sObject[]): Record<string, string> {
  const secret = objects.find((object) => object.kind === 'Secret');
  return (secret?.stringData as Record<string, string> | undefined) ?? {};
}

const VALID = [
  'defaults.yaml',
  'custom-namespace.yaml',
  'external-secrets.yaml',
  'tuned.yaml',
  'isolation.yaml',
  'trusted-only.yaml',
  'public-endpoint.yaml',
  'gateway-api.yaml',
];

/** The egress rule to the cluster DNS every NetworkPolicy of the chart has (networkPolicies.dns). */
const DNS_RULE = {
  to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

beforeAll(() => {
  helm = execFileSync('bash', [join(repoRoot, 'scripts', 'helm.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
});

describe('the ignite Helm chart', () => {
  it.each(VALID)('passes helm lint with %s', async (file) => {
    const { code, stdout, stderr } = await helmRun(['lint', chart, '--namespace', NAMESPACE, '-f', join(valuesDir, file)]);
    expect({ code, output: stdout + stderr }).toMatchObject({ code: 0 });
    expect(stdout).toContain('0 chart(s) failed');
  });

  it.each(VALID)('grants the compile worker only a namespaced Role, without wildcards (%s)', async (file) => {
    const objects = await render([file]);
    expect(ofKind(objects, 'ClusterRole')).toEqual([]);
    expect(ofKind(objects, 'ClusterRoleBinding')).toEqual([]);
    const roles = ofKind(objects, 'Role');
    expect(roles).toHaveLength(1);
    for (const role of roles) {
      for (const rule of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
        for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs]) expect(value).not.toContain('*');
      }
    }
    const rules = Object.fromEntries(
      (roles[0]!.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[]).flatMap((rule) =>
        rule.resources.map((resource) => [resource, [...rule.verbs].sort()]),
      ),
    );
    expect(rules).toEqual({ jobs: ['create', 'delete', 'get', 'list', 'watch'], pods: ['get', 'list', 'watch'], 'pods/log': ['get'] });
    const binding = named(objects, 'RoleBinding', `${RELEASE}-compile-worker`);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: roles[0]!.metadata.name });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: deployment(objects, 'compile-worker').spec.template.spec.serviceAccountName, namespace: NAMESPACE },
    ]);
  });

  it.each(VALID)('gives every container resource limits, and the services their probes (%s)', async (file) => {
    const objects = await render([file]);
    const all = workloads(objects);
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const workload of all) {
      for (const container of containersOf(workload)) {
        expect({ workload: workload.metadata.name, container: container.name, limits: container.resources?.limits }).toEqual({
          workload: workload.metadata.name,
          container: container.name,
          limits: expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }),
        });
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(container.securityContext?.privileged).not.toBe(true);
        // Only the runner adds capabilities: the two its sandbox launcher needs to map uids.
        const added = (container.securityContext?.capabilities?.add ?? []) as string[];
        if (workload.metadata.name !== `${RELEASE}-runner`)
          expect({ workload: workload.metadata.name, added }).toEqual({ workload: workload.metadata.name, added: [] });
        else expect(added.filter((capability) => !['SETUID', 'SETGID'].includes(capability))).toEqual([]);
      }
      // Root only in a user namespace of the pod's own (root there is an unprivileged uid of the node).
      const pod = podSpecOf(workload);
      if (pod.securityContext?.runAsNonRoot !== true)
        expect({ workload: workload.metadata.name, runAsUser: pod.securityContext?.runAsUser, hostUsers: pod.hostUsers }).toEqual({
          workload: `${RELEASE}-runner`,
          runAsUser: 0,
          hostUsers: false,
        });
    }
    const api = containersOf(deployment(objects, 'api'))[0]!;
    expect(api.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(api.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    const runner = containersOf(deployment(objects, 'runner'))[0]!;
    expect(runner.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(runner.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    // The compile worker serves no HTTP: no probe unless one is configured (README, "Probes").
    const worker = containersOf(deployment(objects, 'compile-worker'))[0]!;
    if (file === 'tuned.yaml')
      expect(worker.livenessProbe).toEqual({ exec: { command: ['node', '-e', 'process.exit(0)'] }, periodSeconds: 30 });
    else expect(worker.livenessProbe).toBeUndefined();
  });

  it('serves the API on 8080 and the runner on 8081 (direct connections on 8082) by default, each through its Service', async () => {
    const objects = await render(['defaults.yaml']);
    for (const [component, ports] of [
      ['api', [['http', 8080]]],
      [
        'runner',
        [
          ['http', 8081],
          ['direct', 8082],
        ],
      ],
    ] as const) {
      const container = containersOf(deployment(objects, component))[0]!;
      expect((container as K8sObject).ports).toEqual(ports.map(([name, port]) => ({ name, containerPort: port, protocol: 'TCP' })));
      const service = named(objects, 'Service', `${RELEASE}-${component}`);
      expect(service.spec.ports).toEqual(ports.map(([name, port]) => ({ name, port, targetPort: name, protocol: 'TCP' })));
      expect(service.spec.selector).toEqual(deployment(objects, component).spec.selector.matchLabels);
    }
    expect(envOf(containersOf(deployment(objects, 'runner'))[0]!).RUNNER_DIRECT_PORT).toBe('8082');
    expect(ofKind(objects, 'Service').map((service) => service.metadata.name)).not.toContain(`${RELEASE}-compile-worker`);
  });

  it.each([
    ['defaults.yaml', NAMESPACE],
    ['custom-namespace.yaml', 'ignite-builds-eu1'],
  ])('runs builds in the configured namespace: Role, worker env, NetworkPolicy (%s)', async (file, buildNamespace) => {
    const objects = await render([file]);
    const worker = envOf(containersOf(deployment(objects, 'compile-worker'))[0]!);
    expect(worker.BUILD_EXECUTOR).toBe('kubernetes');
    expect(worker.K8S_NAMESPACE).toBe(buildNamespace);
    expect(ofKind(objects, 'Role')[0]!.metadata.namespace).toBe(buildNamespace);
    expect(named(objects, 'RoleBinding', `${RELEASE}-compile-worker`).metadata.namespace).toBe(buildNamespace);
    expect(named(objects, 'NetworkPolicy', `${RELEASE}-build`).metadata.namespace).toBe(buildNamespace);
    expect(worker.IGNITE_API_INTERNAL_URL).toBe(`http://${RELEASE}-api.${NAMESPACE}.svc.cluster.local:8080`);
    const namespaces = ofKind(objects, 'Namespace').map((namespace) => namespace.metadata.name);
    expect(namespaces).toEqual(buildNamespace === NAMESPACE ? [] : [buildNamespace]);
  });

  it('selects the build pods with its NetworkPolicy: DNS, the registry and the API, nothing else', async () => {
    const objects = await render(['custom-namespace.yaml']);
    const policy = named(objects, 'NetworkPolicy', `${RELEASE}-build`);
    // The labels the compile worker puts on every build pod (apps/compile-worker/src/executors/kubernetes/job-manifest.ts).
    const { BUILD_LABELS } = require(join(repoRoot, 'apps/compile-worker/src/executors/kubernetes/job-manifest')) as {
      BUILD_LABELS: Record<string, string>;
    };
    for (const [label, value] of Object.entries(policy!.spec.podSelector.matchLabels as Record<string, string>))
      expect(BUILD_LABELS[label]).toBe(value);
    expect(policy!.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy!.spec.ingress).toEqual([]);
    const egress = policy!.spec.egress as K8sObject[];
    expect(egress).toHaveLength(3);
    expect(egress[0]!.ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
    expect(egress[1]).toEqual({
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': NAMESPACE } },
          podSelector: { matchLabels: deployment(objects, 'api').spec.selector.matchLabels },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8080 }],
    });
    expect(egress[2]!.ports).toEqual([{ protocol: 'TCP', port: 443 }]);
    expect(egress[2]!.to[0].ipBlock.except).toEqual(expect.arrayContaining(['10.0.0.0/8', '169.254.0.0/16']));
  });

  it('lets only the API and the named direct callers in to the runner, and the runner out to DNS, Postgres, Redis and the API', async () => {
    const objects = await render(['defaults.yaml']);
    const policy = named(objects, 'NetworkPolicy', `${RELEASE}-runner`);
    expect(policy.metadata.namespace).toBe(NAMESPACE);
    expect(policy.spec.podSelector).toEqual({ matchLabels: deployment(objects, 'runner').spec.selector.matchLabels });
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const api = { podSelector: { matchLabels: deployment(objects, 'api').spec.selector.matchLabels } };
    // The API forwards its invoke route to the data plane (8082); no other caller named: nobody else, and nobody on 8081.
    expect(policy.spec.ingress).toEqual([{ from: [api], ports: [{ protocol: 'TCP', port: 8082 }] }]);
    expect(policy.spec.egress).toEqual([
      DNS_RULE,
      // Postgres and Redis by the ports of their URLs (rediss://…:6380), to any address: no peers named.
      { ports: [{ protocol: 'TCP', port: 5432 }] },
      { ports: [{ protocol: 'TCP', port: 6380 }] },
      { to: [api], ports: [{ protocol: 'TCP', port: 8080 }] },
    ]);
  });

  it('names the runner’s direct callers and the platform’s peers in its policies, and keeps the cluster’s CIDRs out of the internet rules', async () => {
    const objects = await render(['isolation.yaml']);
    const runner = named(objects, 'NetworkPolicy', `${RELEASE}-runner`);
    expect(runner.spec.ingress[1]).toEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'edge' } },
          podSelector: { matchLabels: { app: 'gateway' } },
        },
        { ipBlock: { cidr: '10.40.0.0/16' } },
      ],
      ports: [{ protocol: 'TCP', port: 8082 }],
    });
    expect(runner.spec.ingress).toHaveLength(2);
    const postgres = { to: [{ ipBlock: { cidr: '10.20.0.0/24' } }], ports: [{ protocol: 'TCP', port: 6543 }] };
    const redis = {
      to: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'redis' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } },
        },
      ],
      ports: [
        { protocol: 'TCP', port: 6379 },
        { protocol: 'TCP', port: 26379 },
      ],
    };
    expect(runner.spec.egress.slice(1, 3)).toEqual([postgres, redis]);

    const worker = named(objects, 'NetworkPolicy', `${RELEASE}-compile-worker`);
    expect(worker.spec.egress).toEqual([
      DNS_RULE,
      postgres,
      redis,
      { to: [{ ipBlock: { cidr: '172.20.0.10/32' } }], ports: [{ protocol: 'TCP', port: 443 }] },
    ]);

    // Build pods: each address family's own exclusions, the cluster's CIDRs among them.
    const build = named(objects, 'NetworkPolicy', `${RELEASE}-build`);
    expect(build.metadata.namespace).toBe('ignite-builds');
    expect(build.spec.egress[2]).toEqual({
      to: [
        { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '169.254.0.0/16', '198.18.0.0/15'] } },
        { ipBlock: { cidr: '::/0', except: ['fd00::/8', 'fd12:3456::/108'] } },
      ],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
  });

  it('takes no traffic into the compile worker, and lets it out to Postgres, Redis and the Kubernetes API or, building locally, the registry', async () => {
    const objects = await render(['external-secrets.yaml']);
    const worker = named(objects, 'NetworkPolicy', `${RELEASE}-compile-worker`);
    expect(worker.spec.podSelector).toEqual({ matchLabels: deployment(objects, 'compile-worker').spec.selector.matchLabels });
    expect(worker.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(worker.spec.ingress).toEqual([]);
    // The URLs are in a Secret the chart does not read: the services' usual ports.
    expect(worker.spec.egress).toEqual([
      DNS_RULE,
      { ports: [{ protocol: 'TCP', port: 5432 }] },
      { ports: [{ protocol: 'TCP', port: 6379 }] },
      {
        ports: [
          { protocol: 'TCP', port: 443 },
          { protocol: 'TCP', port: 6443 },
        ],
      },
    ]);

    const local = await render(['defaults.yaml'], ['--set', 'compileWorker.executor=local']);
    const egress = named(local, 'NetworkPolicy', `${RELEASE}-compile-worker`).spec.egress as K8sObject[];
    expect(egress).toHaveLength(4);
    expect(egress[3]).toEqual({
      to: [
        { ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'] } },
      ],
      ports: [{ protocol: 'TCP', port: 443 }],
    });
    expect(
      ofKind(local, 'NetworkPolicy')
        .map((policy) => policy.metadata.name)
        .sort(),
    ).toEqual([`${RELEASE}-compile-worker`, `${RELEASE}-runner`]);
  });

  it('renders no NetworkPolicy when told not to', async () => {
    const objects = await render(['defaults.yaml'], ['--set', 'networkPolicies.enabled=false']);
    expect(ofKind(objects, 'NetworkPolicy')).toEqual([]);
    const all = await render(['defaults.yaml']);
    expect(
      ofKind(all, 'NetworkPolicy')
        .map((policy) => policy.metadata.name)
        .sort(),
    ).toEqual([`${RELEASE}-build`, `${RELEASE}-compile-worker`, `${RELEASE}-runner`]);
    const buildsOff = await render(['defaults.yaml'], ['--set', 'builds.networkPolicy.enabled=false']);
    expect(ofKind(buildsOff, 'NetworkPolicy').map((policy) => policy.metadata.name)).not.toContain(`${RELEASE}-build`);
  });

  it('runs every function instance in a sandbox of its own by default: user namespaces, the launcher’s needs and nothing more', async () => {
    const objects = await render(['defaults.yaml']);
    const runner = deployment(objects, 'runner');
    const pod = podSpecOf(runner);
    expect(pod.hostUsers).toBe(false);
    expect(pod.runtimeClassName).toBeUndefined();
    // Root of the pod's user namespace (the launcher maps each sandbox to a uid of the range), with the platform's group.
    expect(pod.securityContext).toEqual({
      runAsUser: 0,
      runAsNonRoot: false,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const container = containersOf(runner)[0]!;
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID'] },
      // The launcher mounts a fresh procfs in each sandbox: the kernel refuses that under a masked /proc.
      procMount: 'Unmasked',
      // RuntimeDefault refuses clone with CLONE_NEWUSER & co. without CAP_SYS_ADMIN, and the runtime's AppArmor profile refuses mount.
      seccompProfile: { type: 'Unconfined' },
      appArmorProfile: { type: 'Unconfined' },
    });
    const env = envOf(container);
    expect(env).toMatchObject({ RUNNER_SANDBOX: 'namespaces', RUNNER_SANDBOX_UID_BASE: '10000', RUNNER_SANDBOX_UID_COUNT: '50000' });
    // The range lies in the pod's 65536 ids, clear of its own (0, and group 1000).
    const [base, count] = [Number(env.RUNNER_SANDBOX_UID_BASE), Number(env.RUNNER_SANDBOX_UID_COUNT)];
    expect(base).toBeGreaterThan(1000);
    expect(base + count).toBeLessThanOrEqual(65536);

    // The other platform pods keep the platform's context: non-root, RuntimeDefault, no procMount, the node's users.
    for (const component of ['api', 'compile-worker']) {
      const other = deployment(objects, component);
      expect(podSpecOf(other).hostUsers).toBeUndefined();
      expect(podSpecOf(other).securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(containersOf(other)[0]!.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
    }
    // Build pods: in a user namespace of their own, on the default runtime.
    const worker = envOf(containersOf(deployment(objects, 'compile-worker'))[0]!);
    expect(worker).toMatchObject({ K8S_BUILD_HOST_USERS: 'false', K8S_BUILD_RUNTIME_CLASS: '' });
  });

  it('puts the runner and build pods under a RuntimeClass, with the seccomp and AppArmor profiles and uid range given', async () => {
    const objects = await render(['isolation.yaml']);
    const runner = deployment(objects, 'runner');
    expect(podSpecOf(runner)).toMatchObject({ runtimeClassName: 'gvisor', hostUsers: false });
    expect(containersOf(runner)[0]!.securityContext).toMatchObject({
      seccompProfile: { type: 'Localhost', localhostProfile: 'ignite/runner-sandbox.json' },
      appArmorProfile: { type: 'Localhost', localhostProfile: 'ignite-runner-sandbox' },
      procMount: 'Unmasked',
    });
    expect(envOf(containersOf(runner)[0]!)).toMatchObject({ RUNNER_SANDBOX_UID_BASE: '2000', RUNNER_SANDBOX_UID_COUNT: '30000' });
    for (const component of ['api', 'compile-worker']) expect(podSpecOf(deployment(objects, component)).runtimeClassName).toBeUndefined();

    // The build pods get them through the worker: its env, parsed by its schema, made into the Job the executor creates.
    const worker = envOf(containersOf(deployment(objects, 'compile-worker'))[0]!, secretValues(objects));
    expect(worker).toMatchObject({ K8S_BUILD_RUNTIME_CLASS: 'gvisor', K8S_BUILD_HOST_USERS: 'false' });
    const { kubernetesExecutorConfigSchema } = require(
      join(repoRoot, 'apps/compile-worker/src/executors/kubernetes/kubernetes-config'),
    ) as {
      kubernetesExecutorConfigSchema: Schema & { parse(value: unknown): Record<string, unknown> };
    };
    const config = kubernetesExecutorConfigSchema.parse(worker);
    expect(config).toMatchObject({ K8S_BUILD_RUNTIME_CLASS: 'gvisor', K8S_BUILD_HOST_USERS: false });
  });

  it('runs the runner as an ordinary platform pod without the sandbox, and never as root with the node’s users', async () => {
    const objects = await render(['trusted-only.yaml']);
    const runner = deployment(objects, 'runner');
    expect(podSpecOf(runner).hostUsers).toBe(true);
    expect(podSpecOf(runner).securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(containersOf(runner)[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    const env = envOf(containersOf(runner)[0]!);
    expect(env.RUNNER_SANDBOX).toBe('none');
    expect(env.RUNNER_SANDBOX_UID_BASE).toBeUndefined();
    expect(envOf(containersOf(deployment(objects, 'compile-worker'))[0]!).K8S_BUILD_HOST_USERS).toBe('true');

    // The sandbox with the node's users: the launcher maps each sandbox to its own uid (1000), so no root, no
    // added capability, no unmasked /proc (Kubernetes allows it only with hostUsers false); the profiles still apply.
    const namespaces = await render(['trusted-only.yaml'], ['--set', 'runner.sandbox.mode=namespaces']);
    const sandboxed = deployment(namespaces, 'runner');
    expect(podSpecOf(sandboxed).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(containersOf(sandboxed)[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'Unconfined' },
      appArmorProfile: { type: 'Unconfined' },
    });
    expect(envOf(containersOf(sandboxed)[0]!)).toMatchObject({ RUNNER_SANDBOX: 'namespaces' });
    expect(envOf(containersOf(sandboxed)[0]!).RUNNER_SANDBOX_UID_BASE).toBeUndefined();
  });

  it('refuses a sandbox uid range outside the pod’s user namespace or over the pod’s own group', async () => {
    const outside = await helmRun([
      'template',
      RELEASE,
      chart,
      '-f',
      join(valuesDir, 'defaults.yaml'),
      '--set',
      'runner.sandbox.uidBase=20000',
      '--set',
      'runner.sandbox.uidCount=50000',
    ]);
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toContain('runner.sandbox.uidBase + uidCount (20000 + 50000) must not exceed 65536');
    const group = await helmRun([
      'template',
      RELEASE,
      chart,
      '-f',
      join(valuesDir, 'defaults.yaml'),
      '--set',
      'runner.sandbox.uidBase=900',
    ]);
    expect(group.code).not.toBe(0);
    expect(group.stderr).toContain('must not contain podSecurityContext.runAsGroup (1000)');
    // With the node's users the range is not used (the launcher maps to its own uid): nothing to refuse.
    const hostUsers = await helmRun([
      'template',
      RELEASE,
      chart,
      '-f',
      join(valuesDir, 'defaults.yaml'),
      '--set',
      'runner.sandbox.uidBase=900',
      '--set',
      'runner.hostUsers=true',
    ]);
    expect(hostUsers.code).toBe(0);
  });

  it('wires each app’s environment one to one to its configuration schema', async () => {
    const apiSchema = appSchema('apps/api/src/config', 'ApiConfigSchema');
    const internalSchema = appSchema('apps/api/src/internal/internal-builds.config', 'InternalBuildsEnvSchema');
    const runnerSchema = appSchema('apps/runner/src/config', 'RunnerConfigSchema');
    const workerSchema = appSchema('apps/compile-worker/src/config', 'compileWorkerConfigSchema') as Schema & {
      shape: Record<string, unknown>;
    };
    const k8sSchema = appSchema(
      'apps/compile-worker/src/executors/kubernetes/kubernetes-config',
      'kubernetesExecutorConfigSchema',
    ) as Schema & {
      shape: Record<string, unknown>;
    };
    const keysOf = (schema: unknown): string[] => {
      const object = schema as { shape?: Record<string, unknown>; _zod?: { def?: { out?: unknown; in?: unknown } } };
      if (object.shape) return Object.keys(object.shape);
      const inner = object._zod?.def?.out ?? object._zod?.def?.in;
      return inner ? keysOf(inner) : [];
    };
    const expectValid = (what: string, schema: Schema, env: Record<string, string>) => {
      const parsed = schema.safeParse(env);
      expect({ what, issues: parsed.error?.issues.map((issue) => `${issue.path.map(String).join('.')}: ${issue.message}`) ?? [] }).toEqual({
        what,
        issues: [],
      });
    };

    for (const file of VALID.filter((name) => name !== 'external-secrets.yaml')) {
      const objects = await render([file]);
      const secrets = secretValues(objects);

      const api = envOf(containersOf(deployment(objects, 'api'))[0]!, secrets);
      const apiKeys = new Set([...keysOf(apiSchema), ...keysOf(internalSchema)]);
      for (const name of Object.keys(api))
        if (name !== 'NODE_OPTIONS') expect({ api: name, known: apiKeys.has(name) }).toEqual({ api: name, known: true });
      expectValid(`api env (${file})`, apiSchema, api);
      expectValid(`api internal endpoints env (${file})`, internalSchema, api);
      expect(api).toMatchObject({
        HOST: '0.0.0.0',
        IGNITE_BOOTSTRAP_LOCAL: 'false',
        RUNNER_DIRECT_URL: `http://${RELEASE}-runner.${NAMESPACE}.svc.cluster.local:8082`,
      });

      const runner = envOf(containersOf(deployment(objects, 'runner'))[0]!, secrets);
      const runnerKeys = new Set(keysOf(runnerSchema));
      for (const name of Object.keys(runner)) expect({ runner: name, known: runnerKeys.has(name) }).toEqual({ runner: name, known: true });
      expectValid(`runner env (${file})`, runnerSchema, runner);
      expect(runner.RUNNER_HOST).toBe('0.0.0.0');

      const worker = envOf(containersOf(deployment(objects, 'compile-worker'))[0]!, secrets);
      const workerKeys = new Set([...keysOf(workerSchema), ...keysOf(k8sSchema)]);
      for (const name of Object.keys(worker)) expect({ worker: name, known: workerKeys.has(name) }).toEqual({ worker: name, known: true });
      expectValid(`compile worker kubernetes env (${file})`, k8sSchema, worker);
      // BUILD_EXECUTOR=kubernetes joins the worker's own schema when the executor is wired in.
      const { BUILD_EXECUTOR: _executor, ...workerOwn } = worker;
      expectValid(`compile worker env (${file})`, workerSchema, workerOwn);
    }
  });

  it('uses an existing Secret and claim when told to, and renders neither', async () => {
    const objects = await render(['external-secrets.yaml']);
    expect(ofKind(objects, 'Secret')).toEqual([]);
    expect(ofKind(objects, 'PersistentVolumeClaim')).toEqual([]);
    for (const workload of workloads(objects)) {
      for (const container of containersOf(workload)) {
        for (const variable of container.env ?? []) {
          if (variable.valueFrom?.secretKeyRef) expect(variable.valueFrom.secretKeyRef.name).toBe('ignite-platform-secrets');
        }
      }
      const volumes = (podSpecOf(workload).volumes ?? []) as K8sObject[];
      const data = volumes.find((volume) => volume.name === 'data');
      if (data) expect(data.persistentVolumeClaim).toEqual({ claimName: 'ignite-shared-data' });
      for (const container of containersOf(workload))
        expect(container.image).toMatch(/^registry\.example\.com\/ignite\/platform:2026\.03\.1$/);
    }
  });

  it('mounts one ReadWriteMany data volume at IGNITE_DATA_DIR in the API, the worker and the runner', async () => {
    const objects = await render(['defaults.yaml']);
    const [claim] = ofKind(objects, 'PersistentVolumeClaim');
    expect(claim!.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(claim!.metadata.annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
    for (const component of ['api', 'compile-worker', 'runner']) {
      const workload = deployment(objects, component);
      expect(podSpecOf(workload).volumes).toContainEqual({ name: 'data', persistentVolumeClaim: { claimName: claim!.metadata.name } });
      const container = containersOf(workload)[0]!;
      expect((container as K8sObject).volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/ignite' });
      expect(envOf(container).IGNITE_DATA_DIR).toBe('/var/lib/ignite');
    }
  });

  it('migrates in a pre-install/pre-upgrade hook after the Secret exists, and tests the API’s readiness', async () => {
    const objects = await render(['defaults.yaml']);
    const migrate = named(objects, 'Job', `${RELEASE}-migrate`);
    expect(migrate.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade' });
    expect(containersOf(migrate)[0]).toMatchObject({ args: ['migrate'] });
    const secret = ofKind(objects, 'Secret')[0]!;
    expect(secret.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade' });
    expect(Number(secret.metadata.annotations['helm.sh/hook-weight'])).toBeLessThan(
      Number(migrate.metadata.annotations['helm.sh/hook-weight']),
    );
    const test = ofKind(objects, 'Pod').find((pod) => pod.metadata.annotations?.['helm.sh/hook'] === 'test');
    expect(containersOf(test!)[0]!).toMatchObject({
      command: expect.arrayContaining([`http://${RELEASE}-api.${NAMESPACE}.svc.cluster.local:8080/readyz`]),
    });
  });

  it('routes the one public hostname: /v1 and the docs to the API, the invoke route to the data plane (ingress-nginx)', async () => {
    const objects = await render(['public-endpoint.yaml']);
    const api = named(objects, 'Ingress', `${RELEASE}-api`);
    const invoke = named(objects, 'Ingress', `${RELEASE}-runner-invoke`);
    for (const ingress of [api, invoke]) {
      expect(ingress.spec.ingressClassName).toBe('nginx');
      expect(ingress.spec.tls).toEqual([{ hosts: ['ignite.example.com'], secretName: 'ignite-tls' }]);
      expect(ingress.spec.rules.map((rule: K8sObject) => rule.host)).toEqual(['ignite.example.com']);
      expect(ingress.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt');
    }
    expect(api.spec.rules[0].http.paths).toEqual(
      ['/v1', '/docs', '/docs-json', '/console'].map((path) => ({
        path,
        pathType: 'Prefix',
        backend: { service: { name: `${RELEASE}-api`, port: { name: 'http' } } },
      })),
    );
    const [route] = invoke.spec.rules[0].http.paths;
    expect(invoke.spec.rules[0].http.paths).toHaveLength(1);
    expect(route).toEqual({
      path: '/v1/orgs/[^/]+/apps/[^/]+/invoke(/.*)?',
      pathType: 'ImplementationSpecific',
      backend: { service: { name: `${RELEASE}-runner`, port: { name: 'direct' } } },
    });
    const pattern = new RegExp(`^${route.path}$`);
    for (const path of ['/v1/orgs/acme/apps/hello/invoke', '/v1/orgs/acme/apps/hello/invoke/orders/42']) expect(path).toMatch(pattern);
    for (const path of ['/v1/orgs/acme/apps/hello', '/v1/orgs/acme/apps/hello/invocations', '/v1/orgs/acme/keys', '/internal/builds/x'])
      expect(path).not.toMatch(pattern);
    // ingress-nginx: a regular expression, and an upstream connection per request (HTTP/1.0): never one connection for two callers.
    expect(invoke.metadata.annotations).toMatchObject({
      'nginx.ingress.kubernetes.io/use-regex': 'true',
      'nginx.ingress.kubernetes.io/proxy-http-version': '1.0',
      'nginx.ingress.kubernetes.io/proxy-body-size': '6291456',
    });
    // The controller's pods may reach the direct port, and only it.
    const policy = named(objects, 'NetworkPolicy', `${RELEASE}-runner`);
    expect(policy.spec.ingress[1]).toEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
        },
      ],
      ports: [{ protocol: 'TCP', port: 8082 }],
    });
    expect(ofKind(await render(['defaults.yaml']), 'Ingress')).toEqual([]);
  });

  it('routes the same hostname with an HTTPRoute on the Gateway API', async () => {
    const objects = await render(['gateway-api.yaml']);
    expect(ofKind(objects, 'Ingress')).toEqual([]);
    const route = named(objects, 'HTTPRoute', RELEASE);
    expect(route.apiVersion).toBe('gateway.networking.k8s.io/v1');
    expect(route.spec.parentRefs).toEqual([{ name: 'public', namespace: 'gateways', sectionName: 'https' }]);
    expect(route.spec.hostnames).toEqual(['ignite.example.com']);
    expect(route.spec.rules).toEqual([
      {
        matches: [{ path: { type: 'RegularExpression', value: '^/v1/orgs/[^/]+/apps/[^/]+/invoke(/.*)?$' } }],
        backendRefs: [{ name: `${RELEASE}-runner`, port: 8082 }],
      },
      {
        matches: ['/v1', '/docs', '/docs-json', '/console'].map((value) => ({ path: { type: 'PathPrefix', value } })),
        backendRefs: [{ name: `${RELEASE}-api`, port: 8080 }],
      },
    ]);
  });

  it('refuses a public endpoint without its hostname, or whose proxy the runner’s NetworkPolicy would keep out', async () => {
    const noHost = await helmRun([
      'template',
      RELEASE,
      chart,
      '-f',
      join(valuesDir, 'public-endpoint.yaml'),
      '--set',
      'publicEndpoint.host=',
    ]);
    expect(noHost.code).not.toBe(0);
    expect(noHost.stderr).toContain('publicEndpoint.host is required');
    const noCallers = await helmRun([
      'template',
      RELEASE,
      chart,
      '-f',
      join(valuesDir, 'defaults.yaml'),
      '--set',
      'publicEndpoint.host=ignite.example.com',
      '--set',
      'publicEndpoint.ingress.enabled=true',
    ]);
    expect(noCallers.code).not.toBe(0);
    expect(noCallers.stderr).toContain('networkPolicies.runner.publicCallers must name');
  });

  it('documents every value of values.yaml in its README', () => {
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as K8sObject;
    const readme = readFileSync(join(chart, 'README.md'), 'utf8');
    // Blocks whose content is Kubernetes' own (or the app's, listed one by one) are documented as a whole.
    const whole = new Set([
      'resources',
      'livenessProbe',
      'readinessProbe',
      'podSecurityContext',
      'containerSecurityContext',
      'podSelector',
      'seccompProfile',
      'appArmorProfile',
    ]);
    const components = ['api', 'compileWorker', 'runner'];
    const paths: string[] = [];
    const walk = (value: unknown, path: string) => {
      const key = path.split('.').at(-1) ?? '';
      if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0 && !whole.has(key)) {
        for (const [child, inner] of Object.entries(value)) walk(inner, path ? `${path}.${child}` : child);
      } else paths.push(path);
    };
    walk(values, '');
    const missing = paths.filter((path) => {
      const [head, ...rest] = path.split('.');
      const generic = components.includes(head!) ? `<c>.${rest.join('.')}` : undefined;
      return !readme.includes(`\`${path}\``) && !(generic && readme.includes(`\`${generic}\``));
    });
    expect(missing).toEqual([]);
  });

  const invalid = readdirSync(join(valuesDir, 'invalid')).sort();
  it.each(invalid)('refuses invalid values: %s', async (file) => {
    const lint = await helmRun(['lint', chart, '-f', join(valuesDir, 'defaults.yaml'), '-f', join(valuesDir, 'invalid', file)]);
    expect(lint.code).not.toBe(0);
    expect(lint.stdout + lint.stderr).toMatch(/values don't meet the specifications of the schema|at '\//);
    const template = await helmRun([
      'template',
      RELEASE,
      chart,
      '-f',
      join(valuesDir, 'defaults.yaml'),
      '-f',
      join(valuesDir, 'invalid', file),
    ]);
    expect(template.code).not.toBe(0);
  });

  it('refuses to install without the platform secrets, or with a short build token key', async () => {
    const none = await helmRun(['template', RELEASE, chart]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('secrets.databaseUrl is required');
    const short = await helmRun([
      'template',
      RELEASE,
      chart,
      '-f',
      join(valuesDir, 'defaults.yaml'),
      '--set',
      'secrets.buildTokenKey=too-short',
    ]);
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('secrets.buildTokenKey must be at least 32 characters');
  });
});
