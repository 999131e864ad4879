import type { V1EnvVar, V1Job, V1Toleration } from '@kubernetes/client-node';
import type { BuildTarget } from '../build-executor';
import { TARGET_TRIPLES } from '../rust-toolchain';
import { buildPodCommand } from './build-script';

/** Labels on every build Job and its pod: how the executor (and people) find them. */
export const BUILD_LABELS = {
  'app.kubernetes.io/name': 'ignite-build',
  'app.kubernetes.io/part-of': 'ignite',
  'app.kubernetes.io/managed-by': 'ignite-compile-worker',
  'app.kubernetes.io/component': 'build',
} as const;
export const BUILD_ID_LABEL = 'ignite.dev/build-id';
export const BUILD_TARGET_ANNOTATION = 'ignite.dev/target';
/** Selects every build Job (and pod) the compile worker manages. */
export const BUILD_SELECTOR = Object.entries({
  'app.kubernetes.io/managed-by': BUILD_LABELS['app.kubernetes.io/managed-by'],
  'app.kubernetes.io/component': BUILD_LABELS['app.kubernetes.io/component'],
})
  .map(([key, value]) => `${key}=${value}`)
  .join(',');

export const BUILD_CONTAINER = 'build';
/** The compile image's unprivileged user (docker/compile.Dockerfile). */
export const BUILD_UID = 1000;
export const WORK_DIR = '/work';

/** Build ids usable in a Job name (`ignite-build-<id>` ≤ 63) and a label value: UUIDs are. */
const JOB_BUILD_ID = /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/;
/** Cargo bin target names (the artifact's file name). */
const BIN_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;

export function buildJobName(buildId: string): string {
  if (!JOB_BUILD_ID.test(buildId)) {
    throw new Error(
      `build id ${JSON.stringify(buildId)} cannot name a Kubernetes Job (lower-case letters, digits and "-", at most 50 characters)`,
    );
  }
  return `ignite-build-${buildId}`;
}

/** The file cargo leaves in `target/<triple>/release/` for the built target (a bin, or a cdylib named by its crate). */
export function artifactFileName(binName: string, target: BuildTarget): string {
  return target === 'wasm' ? `${binName}.wasm` : binName;
}

export interface BuildJobOptions {
  buildId: string;
  namespace: string;
  binName: string;
  /** `cdylib`: the package's library is built (`--lib`), named `binName` (its crate name). Default `bin`. */
  crateKind?: 'bin' | 'cdylib';
  target: BuildTarget;
  /** The build's time limit; the Job's activeDeadlineSeconds (pod start included). */
  timeoutMs: number;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  imagePullSecrets: string[];
  serviceAccountName?: string;
  ttlSecondsAfterFinished: number;
  resources: { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string };
  workSizeLimit: string;
  tmpSizeLimit: string;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  /** The pod's RuntimeClass (gVisor, Kata, ...); unset: the cluster's default runtime. */
  runtimeClassName?: string;
  /** The pod's `hostUsers` (`false`: a user namespace of its own); unset: not set (Kubernetes' default, the node's users). */
  hostUsers?: boolean;
  /** Where the image keeps its pre-fetched cargo home and pre-built target directory. */
  seedDir: string;
  contextUrl: string;
  contextToken: string;
  artifactUrl: string;
  artifactToken: string;
}

/**
 * The Job of one build (pure: tested without a cluster). One pod, never restarted, never retried
 * (a failed build is the build's result, not a reason to run it again), killed at the time limit,
 * garbage-collected `ttlSecondsAfterFinished` after it ends. The pod runs as an unprivileged user
 * with no capabilities, no service account token, a read-only root file system and two emptyDir
 * volumes; its environment holds the two URLs, their two build tokens and cargo's settings only.
 */
export function buildJobManifest(options: BuildJobOptions): V1Job {
  const name = buildJobName(options.buildId);
  if (!BIN_NAME.test(options.binName)) throw new Error(`not a cargo bin name: ${JSON.stringify(options.binName)}`);
  const triple = TARGET_TRIPLES[options.target];
  const labels = { ...BUILD_LABELS, [BUILD_ID_LABEL]: options.buildId };
  const env: V1EnvVar[] = [
    { name: 'IGNITE_BUILD_ID', value: options.buildId },
    { name: 'IGNITE_CONTEXT_URL', value: options.contextUrl },
    { name: 'IGNITE_CONTEXT_TOKEN', value: options.contextToken },
    { name: 'IGNITE_ARTIFACT_URL', value: options.artifactUrl },
    { name: 'IGNITE_ARTIFACT_TOKEN', value: options.artifactToken },
    { name: 'IGNITE_WORK_DIR', value: WORK_DIR },
    { name: 'IGNITE_SEED_DIR', value: options.seedDir },
    { name: 'HOME', value: `${WORK_DIR}/home` },
    { name: 'TMPDIR', value: '/tmp' },
    { name: 'CARGO_HOME', value: `${WORK_DIR}/cargo-home` },
    { name: 'CARGO_TARGET_DIR', value: `${WORK_DIR}/target` },
    { name: 'CARGO_TERM_COLOR', value: 'never' },
    { name: 'CARGO_NET_RETRY', value: '3' },
  ];
  const securityContext = {
    runAsNonRoot: true,
    runAsUser: BUILD_UID,
    runAsGroup: BUILD_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace: options.namespace,
      labels,
      annotations: { [BUILD_TARGET_ANNOTATION]: options.target },
    },
    spec: {
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      activeDeadlineSeconds: Math.max(1, Math.ceil(options.timeoutMs / 1000)),
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished,
      template: {
        metadata: { labels, annotations: { [BUILD_TARGET_ANNOTATION]: options.target } },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
          ...(options.imagePullSecrets.length > 0
            ? { imagePullSecrets: options.imagePullSecrets.map((secret) => ({ name: secret })) }
            : {}),
          ...(options.nodeSelector && Object.keys(options.nodeSelector).length > 0 ? { nodeSelector: options.nodeSelector } : {}),
          ...(options.tolerations && options.tolerations.length > 0 ? { tolerations: options.tolerations } : {}),
          ...(options.runtimeClassName ? { runtimeClassName: options.runtimeClassName } : {}),
          ...(options.hostUsers !== undefined ? { hostUsers: options.hostUsers } : {}),
          terminationGracePeriodSeconds: 10,
          securityContext: { ...securityContext, fsGroup: BUILD_UID },
          containers: [
            {
              name: BUILD_CONTAINER,
              image: options.image,
              imagePullPolicy: options.imagePullPolicy,
              command: buildPodCommand(
                options.binName,
                triple,
                artifactFileName(options.binName, options.target),
                options.crateKind ?? 'bin',
              ),
              workingDir: WORK_DIR,
              env,
              resources: {
                requests: { cpu: options.resources.cpuRequest, memory: options.resources.memoryRequest },
                limits: { cpu: options.resources.cpuLimit, memory: options.resources.memoryLimit },
              },
              securityContext: {
                ...securityContext,
                allowPrivilegeEscalation: false,
                privileged: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'work', mountPath: WORK_DIR },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'work', emptyDir: { sizeLimit: options.workSizeLimit } },
            { name: 'tmp', emptyDir: { sizeLimit: options.tmpSizeLimit } },
          ],
        },
      },
    },
  };
}
