import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { KubeConfig } from '@kubernetes/client-node';

/**
 * An in-process stand-in for the parts of the Kubernetes API the kubernetes executor uses, for
 * tests on machines that cannot run a cluster. It speaks the real paths, query parameters and JSON
 * object shapes (Job, JobList, Pod, PodList, Status, the plain-text log stream with `follow`,
 * `timestamps` and `sinceTime`), records every request, and lets a test play the cluster's part:
 * the Job controller, the scheduler and the kubelet, either step by step or by running the Job's
 * container command on this machine (`runContainer`).
 */

type Json = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are plain JSON, navigated freely in tests.
export type KubeObject = Record<string, any>;

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body?: KubeObject;
}

interface LogEntry {
  stamp: string;
  line: string;
}

interface PodRecord {
  pod: KubeObject;
  log: LogEntry[];
  followers: Set<{ response: ServerResponse; timestamps: boolean }>;
  terminated: boolean;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

let sequence = 0;
/** RFC 3339 with nanoseconds, trailing zeros trimmed, as the kubelet writes it; strictly increasing. */
function stampNow(): string {
  const ms = Date.now();
  sequence = (sequence + 1) % 1_000_000;
  const nanos = String((ms % 1000) * 1_000_000 + sequence).padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${nanos}`.replace(/\.?0+$/, '').concat('Z');
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const trimmed = term.trim();
    const notEqual = /^([^!=]+)!=(.*)$/.exec(trimmed);
    if (notEqual) return labels?.[notEqual[1]!] !== notEqual[2];
    const equal = /^([^!=]+)==?(.*)$/.exec(trimmed);
    if (equal) return labels?.[equal[1]!] === equal[2];
    return labels?.[trimmed] !== undefined;
  });
}

function status(code: number, reason: string, message: string): Json {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class FakeKubernetes {
  readonly requests: RecordedRequest[] = [];
  /** Called (after the response) with each Job created through the API. */
  onJobCreated?: (job: KubeObject) => void;
  /** Answer every request with this error while set (API outage). */
  failAllRequestsWith?: { code: number; message: string };

  private readonly jobs = new Map<string, KubeObject>();
  private readonly pods = new Map<string, PodRecord>();
  private server?: Server;
  private resourceVersion = 1;
  url = '';

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) this.send(response, 500, status(500, 'InternalError', String(error)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const record of this.pods.values()) for (const follower of record.followers) follower.response.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A KubeConfig pointing at this server, the way a test (or a user's kubeconfig file) would. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'fake-user', token: 'fake-token' }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'fake-user', namespace: 'default' }],
      currentContext: 'fake',
    });
    return kc;
  }

  requestsTo(method: string, pathPattern: RegExp): RecordedRequest[] {
    return this.requests.filter((request) => request.method === method && pathPattern.test(request.path));
  }

  // ---- the cluster's side, scripted by tests -------------------------------------------------

  job(namespace: string, name: string): KubeObject | undefined {
    return this.jobs.get(key(namespace, name));
  }

  /** Adds a Job directly (as if created earlier, e.g. by a worker that died). */
  seedJob(job: KubeObject): KubeObject {
    return this.storeJob(structuredClone(job));
  }

  /** The Job controller: makes the Job's pod (Pending, not yet scheduled). */
  createPod(job: KubeObject): string {
    const namespace = job.metadata.namespace as string;
    const name = `${job.metadata.name}-${randomUUID().slice(0, 5)}`;
    const template = job.spec.template;
    const container = template.spec.containers[0];
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: String(this.resourceVersion++),
        creationTimestamp: new Date().toISOString(),
        labels: {
          ...template.metadata.labels,
          'batch.kubernetes.io/controller-uid': job.metadata.uid,
          'batch.kubernetes.io/job-name': job.metadata.name,
          'controller-uid': job.metadata.uid,
          'job-name': job.metadata.name,
        },
        annotations: template.metadata.annotations ?? {},
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: job.metadata.name,
            uid: job.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(template.spec),
      status: {
        phase: 'Pending',
        conditions: [],
        containerStatuses: [
          {
            name: container.name,
            image: container.image,
            imageID: '',
            ready: false,
            restartCount: 0,
            started: false,
            state: { waiting: { reason: 'ContainerCreating' } },
          },
        ],
      },
    };
    this.pods.set(key(namespace, name), { pod, log: [], followers: new Set(), terminated: false });
    job.status = { ...job.status, active: 1, startTime: job.status?.startTime ?? new Date().toISOString() };
    return name;
  }

  /** The scheduler found no node: PodScheduled=False, reason Unschedulable. */
  setUnschedulable(namespace: string, pod: string, message: string, since = new Date()): void {
    const { pod: object } = this.podRecord(namespace, pod);
    object.status.conditions = [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message,
        lastTransitionTime: since.toISOString(),
        lastProbeTime: null,
      },
    ];
  }

  /** The kubelet cannot start the container (ErrImagePull, ImagePullBackOff, CreateContainerConfigError, ...). */
  setWaiting(namespace: string, pod: string, reason: string, message: string): void {
    const { pod: object } = this.podRecord(namespace, pod);
    object.status.conditions = [{ type: 'PodScheduled', status: 'True', lastTransitionTime: new Date().toISOString() }];
    object.status.containerStatuses[0].state = { waiting: { reason, message } };
  }

  /** Scheduled and started. */
  setRunning(namespace: string, pod: string): void {
    const { pod: object } = this.podRecord(namespace, pod);
    object.spec.nodeName = 'fake-node-1';
    object.status.phase = 'Running';
    object.status.conditions = [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: new Date().toISOString() },
      { type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() },
    ];
    object.status.containerStatuses[0] = {
      ...object.status.containerStatuses[0],
      ready: true,
      started: true,
      state: { running: { startedAt: new Date().toISOString() } },
    };
  }

  /** A line the container wrote (stdout and stderr land in one log, as with a real kubelet). */
  appendLog(namespace: string, pod: string, line: string): void {
    const record = this.podRecord(namespace, pod);
    const entry = { stamp: stampNow(), line };
    record.log.push(entry);
    for (const follower of record.followers) follower.response.write(this.formatLine(entry, follower.timestamps));
  }

  /** Cuts every open log follow of the pod (what an API server or kubelet does to long streams). */
  dropLogFollowers(namespace: string, pod: string): void {
    const record = this.podRecord(namespace, pod);
    for (const follower of record.followers) follower.response.destroy();
    record.followers.clear();
  }

  /** The container exited. */
  terminate(namespace: string, pod: string, exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error'): void {
    const record = this.podRecord(namespace, pod);
    const object = record.pod;
    object.status.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
    object.status.containerStatuses[0] = {
      ...object.status.containerStatuses[0],
      ready: false,
      started: false,
      state: {
        terminated: {
          exitCode,
          reason,
          startedAt: new Date().toISOString(),
          finishedAt: new Date().toISOString(),
          containerID: 'containerd://fake',
        },
      },
    };
    record.terminated = true;
    for (const follower of record.followers) follower.response.end();
    record.followers.clear();
  }

  /** The Job controller's verdict. */
  completeJob(namespace: string, name: string): void {
    const job = this.requireJob(namespace, name);
    const now = new Date().toISOString();
    job.status = {
      ...job.status,
      active: 0,
      succeeded: 1,
      completionTime: now,
      conditions: [
        {
          type: 'SuccessCriteriaMet',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
        {
          type: 'Complete',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
      ],
    };
  }

  failJob(namespace: string, name: string, reason: string, message: string): void {
    const job = this.requireJob(namespace, name);
    const now = new Date().toISOString();
    job.status = {
      ...job.status,
      active: 0,
      failed: 1,
      conditions: [
        { type: 'FailureTarget', status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now },
        { type: 'Failed', status: 'True', reason, message, lastProbeTime: now, lastTransitionTime: now },
      ],
    };
  }

  /**
   * The kubelet for real: runs the Job's container command on this machine with the container's
   * environment (`envOverrides` maps paths that exist only in the image to local ones), streams its
   * merged output into the pod log, and reports its exit like the Job controller would.
   */
  async runContainer(job: KubeObject, envOverrides: Record<string, string>): Promise<number> {
    const namespace = job.metadata.namespace as string;
    const pod = this.createPod(job);
    this.setRunning(namespace, pod);
    const container = job.spec.template.spec.containers[0];
    const env: Record<string, string> = {};
    for (const variable of container.env as { name: string; value: string }[]) env[variable.name] = variable.value;
    const [command, ...args] = container.command as string[];
    const child = spawn(command!, args, {
      env: { ...env, ...envOverrides },
      cwd: envOverrides.IGNITE_WORK_DIR ?? '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const streams = [child.stdout, child.stderr].map(
      (stream) =>
        new Promise<void>((resolve) => {
          const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
          lines.on('line', (line) => this.appendLog(namespace, pod, line));
          lines.on('close', resolve);
        }),
    );
    const exitCode = await new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 137)));
    await Promise.all(streams);
    if (!this.jobs.has(key(namespace, job.metadata.name))) return exitCode;
    this.terminate(namespace, pod, exitCode);
    if (exitCode === 0) this.completeJob(namespace, job.metadata.name);
    else this.failJob(namespace, job.metadata.name, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    return exitCode;
  }

  // ---- the API ------------------------------------------------------------------------------

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const body = request.method === 'POST' || request.method === 'PUT' ? await readJson(request) : undefined;
    this.requests.push({
      method: request.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(body ? { body } : {}),
    });
    if (request.headers.authorization !== 'Bearer fake-token') {
      this.send(response, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (this.failAllRequestsWith) {
      const { code, message } = this.failAllRequestsWith;
      this.send(response, code, status(code, 'InternalError', message));
      return;
    }
    const query = url.searchParams;
    const path = url.pathname;

    const jobs = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs$/.exec(path);
    if (jobs) {
      const namespace = decodeURIComponent(jobs[1]!);
      if (request.method === 'POST') return this.createJob(namespace, body, response);
      if (request.method === 'GET') {
        const items = [...this.jobs.values()].filter(
          (job) => job.metadata.namespace === namespace && matchesSelector(job.metadata.labels, query.get('labelSelector') ?? undefined),
        );
        const offset = Number(query.get('continue') ?? 0);
        const limit = Number(query.get('limit') ?? 0) || items.length;
        const page = items.slice(offset, offset + limit);
        const more = offset + limit < items.length;
        this.send(response, 200, {
          apiVersion: 'batch/v1',
          kind: 'JobList',
          metadata: { resourceVersion: String(this.resourceVersion), ...(more ? { continue: String(offset + limit) } : {}) },
          items: page,
        });
        return;
      }
    }
    const oneJob = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/.exec(path);
    if (oneJob) {
      const namespace = decodeURIComponent(oneJob[1]!);
      const name = decodeURIComponent(oneJob[2]!);
      const job = this.jobs.get(key(namespace, name));
      if (!job) {
        this.send(response, 404, status(404, 'NotFound', `jobs.batch "${name}" not found`));
        return;
      }
      if (request.method === 'GET') {
        this.send(response, 200, job);
        return;
      }
      if (request.method === 'DELETE') {
        this.jobs.delete(key(namespace, name));
        // Background propagation: the garbage collector deletes the pods after the Job is gone.
        for (const [podKey, record] of this.pods) {
          if (record.pod.metadata.ownerReferences?.some((owner: { uid: string }) => owner.uid === job.metadata.uid)) {
            for (const follower of record.followers) follower.response.end();
            this.pods.delete(podKey);
          }
        }
        this.send(response, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: { name, group: 'batch', kind: 'jobs', uid: job.metadata.uid },
        });
        return;
      }
    }
    const pods = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(path);
    if (pods && request.method === 'GET') {
      const namespace = decodeURIComponent(pods[1]!);
      const items = [...this.pods.values()]
        .map((record) => record.pod)
        .filter(
          (pod) => pod.metadata.namespace === namespace && matchesSelector(pod.metadata.labels, query.get('labelSelector') ?? undefined),
        );
      this.send(response, 200, { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(this.resourceVersion) }, items });
      return;
    }
    const podLog = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(path);
    if (podLog && request.method === 'GET') {
      this.streamLog(decodeURIComponent(podLog[1]!), decodeURIComponent(podLog[2]!), query, response);
      return;
    }
    this.send(
      response,
      404,
      status(404, 'NotFound', `the server could not find the requested resource (${request.method} ${url.pathname})`),
    );
  }

  private createJob(namespace: string, body: KubeObject | undefined, response: ServerResponse): void {
    if (body?.kind !== 'Job' || body.apiVersion !== 'batch/v1' || typeof body.metadata?.name !== 'string') {
      this.send(response, 400, status(400, 'BadRequest', 'the body is not a batch/v1 Job'));
      return;
    }
    if (body.metadata.namespace !== undefined && body.metadata.namespace !== namespace) {
      this.send(
        response,
        400,
        status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request'),
      );
      return;
    }
    const name = body.metadata.name as string;
    if (this.jobs.has(key(namespace, name))) {
      this.send(response, 409, status(409, 'AlreadyExists', `jobs.batch "${name}" already exists`));
      return;
    }
    const job = this.storeJob({ ...body, metadata: { ...body.metadata, namespace } });
    this.send(response, 201, job);
    if (this.onJobCreated) setImmediate(() => this.onJobCreated?.(job));
  }

  private storeJob(job: KubeObject): KubeObject {
    job.metadata.uid ??= randomUUID();
    job.metadata.resourceVersion = String(this.resourceVersion++);
    job.metadata.creationTimestamp ??= new Date().toISOString();
    job.status ??= {};
    this.jobs.set(key(job.metadata.namespace, job.metadata.name), job);
    return job;
  }

  private streamLog(namespace: string, name: string, query: URLSearchParams, response: ServerResponse): void {
    const record = this.pods.get(key(namespace, name));
    if (!record) {
      this.send(response, 404, status(404, 'NotFound', `pods "${name}" not found`));
      return;
    }
    const container = query.get('container');
    const containerStatus = record.pod.status.containerStatuses.find((candidate: { name: string }) => candidate.name === container);
    if (!containerStatus) {
      this.send(response, 400, status(400, 'BadRequest', `container ${container} is not valid for pod ${name}`));
      return;
    }
    if (containerStatus.state.waiting) {
      this.send(
        response,
        400,
        status(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ${containerStatus.state.waiting.reason}`),
      );
      return;
    }
    const timestamps = query.get('timestamps') === 'true';
    const since = query.get('sinceTime');
    // The kubelet compares at the precision of a second.
    const sinceSeconds = since ? Math.floor(Date.parse(since) / 1000) : undefined;
    response.writeHead(200, { 'content-type': 'text/plain' });
    for (const entry of record.log) {
      if (sinceSeconds !== undefined && Math.floor(Date.parse(entry.stamp) / 1000) < sinceSeconds) continue;
      response.write(this.formatLine(entry, timestamps));
    }
    if (query.get('follow') === 'true' && !record.terminated) {
      const follower = { response, timestamps };
      record.followers.add(follower);
      response.on('close', () => record.followers.delete(follower));
      return;
    }
    response.end();
  }

  private formatLine(entry: LogEntry, timestamps: boolean): string {
    return timestamps ? `${entry.stamp} ${entry.line}\n` : `${entry.line}\n`;
  }

  private podRecord(namespace: string, name: string): PodRecord {
    const record = this.pods.get(key(namespace, name));
    if (!record) throw new Error(`no pod ${namespace}/${name}`);
    return record;
  }

  private requireJob(namespace: string, name: string): KubeObject {
    const job = this.jobs.get(key(namespace, name));
    if (!job) throw new Error(`no job ${namespace}/${name}`);
    return job;
  }

  private send(response: ServerResponse, code: number, body: Json): void {
    response.writeHead(code, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  }
}

async function readJson(request: IncomingMessage): Promise<KubeObject | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as KubeObject;
}
