import { MIN_BUILD_TOKEN_KEY_BYTES } from '@ignite/build-tokens';
import { z } from 'zod';

/**
 * Configuration of the kubernetes executor (`BUILD_EXECUTOR=kubernetes`), from the compile
 * worker's environment. Parsed only when that executor is selected: the local executor needs none
 * of it. The Kubernetes API connection itself comes from `KubeConfig.loadFromDefault()`: the file(s)
 * in `KUBECONFIG` when set, else `~/.kube/config`, else the pod's in-cluster service account.
 */

/** An unset or empty variable is `undefined`. */
const unsetIfEmpty = (value: unknown) => (value === '' ? undefined : value);

/** A Kubernetes resource quantity: `500m`, `2`, `1.5`, `4Gi`, `512M`, `1e3`. */
const QUANTITY = /^(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$/;
const quantity = (fallback: string) =>
  z.preprocess(unsetIfEmpty, z.string().regex(QUANTITY, 'must be a Kubernetes quantity such as 500m, 2, 4Gi').default(fallback));

/** A DNS-1123 label: namespaces, service accounts, secrets. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = z.string().max(63).regex(DNS_LABEL, 'must be a DNS-1123 label: lower-case letters, digits and "-"');

/** A JSON value in an environment variable, checked against `schema`. */
const jsonOf = <T extends z.ZodType>(schema: T) =>
  z.preprocess(
    unsetIfEmpty,
    z
      .string()
      .transform((text, context) => {
        try {
          return JSON.parse(text) as unknown;
        } catch (error) {
          context.addIssue({ code: 'custom', message: `must be JSON: ${(error as Error).message}` });
          return z.NEVER;
        }
      })
      .pipe(schema)
      .optional(),
  );

const tolerationSchema = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  tolerationSeconds: z.number().int().optional(),
});

export const kubernetesExecutorConfigSchema = z
  .object({
    /** Namespace the build Jobs run in (the worker's Role grants access there only). */
    K8S_NAMESPACE: z.preprocess(unsetIfEmpty, dnsLabel.default('ignite-builds')),
    /** The compile image (docker/compile.Dockerfile): Rust 1.93, both targets, the SDK, pre-built dependencies. */
    K8S_BUILD_IMAGE: z.string().min(1, 'set it to the compile image, e.g. registry.example.com/ignite/compile:1.93'),
    K8S_BUILD_IMAGE_PULL_POLICY: z.preprocess(unsetIfEmpty, z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent')),
    /** Comma-separated names of image pull secrets in the build namespace (private registries). */
    K8S_BUILD_IMAGE_PULL_SECRETS: z.preprocess(
      (value) =>
        typeof value === 'string'
          ? value
              .split(',')
              .map((name) => name.trim())
              .filter(Boolean)
          : value,
      z.array(dnsLabel).default([]),
    ),
    /** Service account of build pods; its token is never mounted. Default: the namespace's `default`. */
    K8S_BUILD_SERVICE_ACCOUNT: z.preprocess(unsetIfEmpty, dnsLabel.optional()),
    /** CPU and memory of one build pod (requests: what the scheduler reserves; limits: the ceiling). */
    K8S_BUILD_CPU_REQUEST: quantity('1'),
    K8S_BUILD_CPU_LIMIT: quantity('2'),
    K8S_BUILD_MEMORY_REQUEST: quantity('2Gi'),
    K8S_BUILD_MEMORY_LIMIT: quantity('4Gi'),
    /** Size limit of the pod's /work (sources, cargo home, target directory) and /tmp emptyDir volumes. */
    K8S_BUILD_WORK_SIZE_LIMIT: quantity('10Gi'),
    K8S_BUILD_TMP_SIZE_LIMIT: quantity('1Gi'),
    /** JSON object: node labels build pods must run on, e.g. {"ignite.dev/pool":"builds"}. */
    K8S_BUILD_NODE_SELECTOR: jsonOf(z.record(z.string(), z.string())),
    /** JSON array of tolerations for build pods, e.g. [{"key":"builds","operator":"Exists","effect":"NoSchedule"}]. */
    K8S_BUILD_TOLERATIONS: jsonOf(z.array(tolerationSchema)),
    /**
     * RuntimeClass of build pods (e.g. gVisor `runsc` or Kata), for a kernel boundary of their own
     * between build scripts and the node; the RuntimeClass must exist in the cluster. Empty: the
     * cluster's default runtime.
     */
    K8S_BUILD_RUNTIME_CLASS: z.preprocess(
      unsetIfEmpty,
      z
        .string()
        .max(253)
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a RuntimeClass name (a DNS-1123 subdomain)')
        .optional(),
    ),
    /**
     * The pod's `hostUsers`: `false` runs build pods in a user namespace of their own (their uid
     * 1000 is an unprivileged uid of the node that no other pod has); needs Kubernetes user
     * namespace support on the nodes. Empty: the field is not set (the node's users, Kubernetes'
     * default).
     */
    K8S_BUILD_HOST_USERS: z.preprocess(
      unsetIfEmpty,
      z
        .enum(['true', 'false'])
        .transform((value) => value === 'true')
        .optional(),
    ),
    /** Finished Jobs (and their pods, with their logs) are deleted by Kubernetes this long after they finish. */
    K8S_JOB_TTL_SECONDS: z.preprocess(
      unsetIfEmpty,
      z.coerce
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 3600)
        .default(600),
    ),
    /** Where the compile image has the SDK crate: the packed Cargo.toml's SDK path dependency is rewritten to it. */
    K8S_SDK_PATH_IN_IMAGE: z.preprocess(
      unsetIfEmpty,
      z.string().startsWith('/', 'must be an absolute path').default('/opt/ignite/sdk/ignite-rs/ignite'),
    ),
    /** Where the compile image keeps its pre-fetched cargo home and pre-built target directory (copied into /work). */
    K8S_SEED_DIR_IN_IMAGE: z.preprocess(unsetIfEmpty, z.string().startsWith('/', 'must be an absolute path').default('/opt/ignite/seed')),
    /** How often a running build's Job and pod are read. */
    K8S_POLL_INTERVAL_MS: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(50).max(60_000).default(2000)),
    /** How long a build pod may stay unschedulable (e.g. while a cluster autoscaler adds a node) before the build fails. */
    K8S_SCHEDULING_TIMEOUT_SECONDS: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(3600).default(120)),
    /** Time limit of one Kubernetes API request. */
    K8S_API_TIMEOUT_MS: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(100).max(120_000).default(15_000)),
    /** How long the Kubernetes API may keep failing during a build before the build fails as an infrastructure error. */
    K8S_API_ERROR_BUDGET_MS: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(600_000).default(60_000)),
    /** The API's in-cluster URL as build pods reach it (they download the context and upload the artifact there). */
    IGNITE_API_INTERNAL_URL: z.url({
      protocol: /^https?$/,
      error: 'must be an http:// or https:// URL, e.g. http://ignite-api.ignite.svc:8080',
    }),
    /** HMAC key of build tokens; the API must have the same value. No default: at least 32 random bytes. */
    IGNITE_BUILD_TOKEN_KEY: z
      .string({ error: `set it to a random secret of at least ${MIN_BUILD_TOKEN_KEY_BYTES} bytes (the API needs the same value)` })
      .refine((value) => Buffer.byteLength(value) >= MIN_BUILD_TOKEN_KEY_BYTES, `must be at least ${MIN_BUILD_TOKEN_KEY_BYTES} bytes`),
  })
  .superRefine((config, context) => {
    const pairs = [
      ['K8S_BUILD_CPU_REQUEST', 'K8S_BUILD_CPU_LIMIT'],
      ['K8S_BUILD_MEMORY_REQUEST', 'K8S_BUILD_MEMORY_LIMIT'],
    ] as const;
    for (const [request, limit] of pairs) {
      // Each is checked on its own first; compare only two valid quantities.
      if (!QUANTITY.test(String(config[request])) || !QUANTITY.test(String(config[limit]))) continue;
      if (parseQuantity(config[request]) > parseQuantity(config[limit])) {
        context.addIssue({ code: 'custom', path: [request], message: `must not exceed ${limit} (${config[limit]})` });
      }
    }
  });

export type KubernetesExecutorConfig = z.infer<typeof kubernetesExecutorConfigSchema>;

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A quantity's value as a number (bytes, cores), for comparisons. */
export function parseQuantity(value: string): number {
  const match = QUANTITY.exec(value);
  if (!match) throw new Error(`not a Kubernetes quantity: ${value}`);
  const base = Number(match[1]);
  const suffix = match[3];
  if (suffix === undefined) return base;
  if (/^[eE]/.test(suffix)) return base * 10 ** Number(suffix.slice(1));
  return base * (SUFFIX[suffix] ?? 1);
}
