import { chmod, copyFile, mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  BUILD_ARTIFACT_FILE,
  BUILD_CONTEXT_FILE,
  type BuildTokenKey,
  buildArtifactUrl,
  buildContextUrl,
  buildExchangeDir,
  buildExchangeRoot,
  isValidBuildId,
  signBuildToken,
} from '@ignite/build-tokens';
import {
  BatchV1Api,
  type ConfigurationOptions,
  CoreV1Api,
  KubeConfig,
  Log,
  Observable,
  type V1Job,
  type V1Pod,
  type V1Toleration,
} from '@kubernetes/client-node';
import { type BuildExecutor, BuildFailure, type BuildOutcome, type BuildRequest, type LogSink } from '../build-executor';
import { parseCargoStdoutLine } from '../cargo-messages';
import { TARGET_TRIPLES } from '../rust-toolchain';
import { packBuildContext, type SdkLocation } from './build-context';
import { BUILD_EXIT_CODES, SCRIPT_LOG_PREFIX, TOOLCHAIN_LINE_PREFIX } from './build-script';
import { readBuildJob } from './build-status';
import { BUILD_CONTAINER, BUILD_ID_LABEL, BUILD_SELECTOR, type BuildJobOptions, buildJobManifest, buildJobName } from './job-manifest';
import type { KubernetesExecutorConfig } from './kubernetes-config';
import { PodLogFollower } from './log-follower';

export interface KubernetesExecutorOptions {
  namespace: string;
  image: string;
  imagePullPolicy: BuildJobOptions['imagePullPolicy'];
  imagePullSecrets: string[];
  serviceAccountName?: string;
  resources: BuildJobOptions['resources'];
  workSizeLimit: string;
  tmpSizeLimit: string;
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  runtimeClassName?: string;
  hostUsers?: boolean;
  jobTtlSeconds: number;
  sdk: SdkLocation;
  seedDir: string;
  /** The API as build pods reach it; the context and artifact URLs are under it. */
  apiInternalUrl: string;
  tokenKey: BuildTokenKey;
  /** The platform's data directory, shared with the API (`<dir>/builds-uploads/<buildId>`). */
  dataDir: string;
  logMaxBytes: number;
  pollIntervalMs: number;
  schedulingTimeoutMs: number;
  apiTimeoutMs: number;
  apiErrorBudgetMs: number;
  /** How long past the build's time limit the worker waits for Kubernetes to report DeadlineExceeded. */
  deadlineGraceMs?: number;
  /** How long the log may take to drain after the container ended. */
  logDrainTimeoutMs?: number;
}

/** What `reconcileOrphans` found and did. */
export interface OrphanReport {
  /** Jobs of builds that are not running any more, deleted (pods with them). */
  deletedJobs: { buildId: string; jobName: string }[];
  /** Builds said to be running that have no Job: their worker died before creating it, or someone deleted it. */
  vanishedBuildIds: string[];
}

/** Token lifetime beyond the build's time limit: pod scheduling, image pull, the upload itself. */
const TOKEN_SLACK_SECONDS = 300;

/**
 * Runs each build as a Kubernetes Job (one pod) in the build namespace. Nothing is shared with the
 * pod but two URLs and two build tokens: the worker packs the prepared project into the data
 * directory it shares with the API, the pod downloads it from the API, builds, and uploads the
 * artifact back through the API, which the worker then copies to `request.outputPath`.
 *
 * The worker follows the pod's log into the build log as it is written, and polls the Job and its
 * pod: Complete/Failed end the build; a pod that cannot start (image pull failure, no node for it
 * past the scheduling timeout, a container that cannot be created) fails it with that reason, and
 * its Job is deleted. A cancel deletes the Job (propagationPolicy Background: its pod goes too).
 */
export class KubernetesExecutor implements BuildExecutor {
  readonly name = 'kubernetes';
  readonly startCheckHere = false;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly logs: Log;

  constructor(
    private readonly options: KubernetesExecutorOptions,
    kubeConfig: KubeConfig,
  ) {
    this.batch = kubeConfig.makeApiClient(BatchV1Api);
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.logs = new Log(kubeConfig);
  }

  async build(request: BuildRequest, log: LogSink, signal: AbortSignal): Promise<BuildOutcome> {
    const { options } = this;
    const triple = TARGET_TRIPLES[request.target];
    let jobName: string;
    try {
      jobName = buildJobName(request.buildId);
    } catch (error) {
      throw new BuildFailure((error as Error).message, 'infrastructure');
    }
    if (signal.aborted) throw new BuildFailure('build canceled', 'canceled');
    const capped = cappedLog(log, options.logMaxBytes);
    const exchangeDir = buildExchangeDir(options.dataDir, request.buildId);

    await rm(exchangeDir, { recursive: true, force: true });
    await mkdir(exchangeDir, { recursive: true });
    // The API (another process, maybe another uid in the same group) writes the artifact here.
    await chmod(exchangeDir, 0o770);
    try {
      const packed = await packBuildContext(request.projectDir, join(exchangeDir, BUILD_CONTEXT_FILE), {
        stagingDir: join(request.workDir, 'kubernetes-context'),
        sdk: options.sdk,
      });
      for (const note of packed.rewritten) capped('system', `build context: ${note} (the SDK in the compile image)`);
      capped('system', `build context packed: ${packed.bytes} bytes`);
      if (signal.aborted) throw new BuildFailure('build canceled', 'canceled');

      const ttlSeconds = Math.ceil(request.timeoutMs / 1000) + Math.ceil(options.schedulingTimeoutMs / 1000) + TOKEN_SLACK_SECONDS;
      const manifest = buildJobManifest({
        buildId: request.buildId,
        namespace: options.namespace,
        binName: request.binName,
        crateKind: request.crateKind ?? 'bin',
        target: request.target,
        timeoutMs: request.timeoutMs,
        image: options.image,
        imagePullPolicy: options.imagePullPolicy,
        imagePullSecrets: options.imagePullSecrets,
        ...(options.serviceAccountName ? { serviceAccountName: options.serviceAccountName } : {}),
        ttlSecondsAfterFinished: options.jobTtlSeconds,
        resources: options.resources,
        workSizeLimit: options.workSizeLimit,
        tmpSizeLimit: options.tmpSizeLimit,
        ...(options.nodeSelector ? { nodeSelector: options.nodeSelector } : {}),
        ...(options.tolerations ? { tolerations: options.tolerations } : {}),
        ...(options.runtimeClassName ? { runtimeClassName: options.runtimeClassName } : {}),
        ...(options.hostUsers !== undefined ? { hostUsers: options.hostUsers } : {}),
        seedDir: options.seedDir,
        contextUrl: buildContextUrl(options.apiInternalUrl, request.buildId),
        contextToken: signBuildToken({ buildId: request.buildId, scope: 'context:read', ttlSeconds }, options.tokenKey),
        artifactUrl: buildArtifactUrl(options.apiInternalUrl, request.buildId),
        artifactToken: signBuildToken({ buildId: request.buildId, scope: 'artifact:write', ttlSeconds }, options.tokenKey),
      });
      await this.createJob(manifest, capped);
      capped('system', `Job ${options.namespace}/${jobName} created: image ${options.image}, target ${triple}`);

      let toolchain: string | undefined;
      try {
        ({ toolchain } = await this.follow(request, jobName, capped, signal));
      } catch (error) {
        // Anything but the build's own verdict leaves a Job that may still run: stop it.
        if (!(error instanceof BuildFailure)) await this.deleteJob(jobName, capped);
        throw error;
      }

      await mkdir(dirname(request.outputPath), { recursive: true });
      await copyFile(join(exchangeDir, BUILD_ARTIFACT_FILE), request.outputPath).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') throw new BuildFailure('the build pod finished without uploading its artifact', 'infrastructure');
        throw error;
      });
      await chmod(request.outputPath, 0o755);
      return { toolchain: toolchain ?? `unknown (image ${options.image})`, targetTriple: triple };
    } finally {
      await rm(exchangeDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * Deletes the Jobs of builds that are no longer running (left by a worker that died) and reports
   * builds said to be running whose Job is gone. `activeBuildIds`: every build the database has as
   * running on this executor, across all workers (a build claimed a moment ago may have no Job yet).
   * Also removes the shared data directory's leftovers of builds that are not running.
   */
  async reconcileOrphans(activeBuildIds: Iterable<string>): Promise<OrphanReport> {
    const active = new Set(activeBuildIds);
    const report: OrphanReport = { deletedJobs: [], vanishedBuildIds: [] };
    const seen = new Set<string>();
    let next: string | undefined;
    do {
      const page = await this.batch.listNamespacedJob(
        { namespace: this.options.namespace, labelSelector: BUILD_SELECTOR, limit: 200, ...(next ? { _continue: next } : {}) },
        this.callOptions(),
      );
      for (const job of page.items) {
        const buildId = job.metadata?.labels?.[BUILD_ID_LABEL];
        const jobName = job.metadata?.name;
        if (!buildId || !jobName) continue;
        seen.add(buildId);
        if (active.has(buildId)) continue;
        await this.deleteJob(jobName);
        report.deletedJobs.push({ buildId, jobName });
      }
      next = page.metadata?._continue || undefined;
    } while (next);
    report.vanishedBuildIds = [...active].filter((buildId) => !seen.has(buildId));

    const root = buildExchangeRoot(this.options.dataDir);
    const leftovers = await readdir(root).catch(() => [] as string[]);
    for (const entry of leftovers) {
      if (isValidBuildId(entry) && !active.has(entry)) await rm(join(root, entry), { recursive: true, force: true });
    }
    return report;
  }

  private async follow(request: BuildRequest, jobName: string, log: LogSink, signal: AbortSignal): Promise<{ toolchain?: string }> {
    const { options } = this;
    const errors: string[] = [];
    let toolchain: string | undefined;
    const onLine = (line: string) => {
      if (line.startsWith(SCRIPT_LOG_PREFIX)) {
        if (line.startsWith(TOOLCHAIN_LINE_PREFIX)) toolchain = line.slice(TOOLCHAIN_LINE_PREFIX.length).trim();
        log('system', line.slice(SCRIPT_LOG_PREFIX.length));
        return;
      }
      const parsed = parseCargoStdoutLine(line);
      if (parsed.kind === 'ignored') return;
      if (parsed.kind === 'text') {
        // stdout and stderr arrive merged; cargo's plain text (progress, warnings) is its stderr.
        log('stderr', line);
        return;
      }
      if (parsed.error) errors.push(parsed.error);
      for (const text of parsed.text.split('\n')) log('stdout', text);
    };

    const started = Date.now();
    const watchdogAt = started + request.timeoutMs + (options.deadlineGraceMs ?? 60_000);
    const drainMs = options.logDrainTimeoutMs ?? 10_000;
    let follower: PodLogFollower | undefined;
    let failingSince: number | undefined;
    let lastDetail: string | undefined;
    try {
      for (;;) {
        if (signal.aborted) {
          await this.deleteJob(jobName, log);
          throw new BuildFailure('build canceled', 'canceled');
        }
        let reading: ReturnType<typeof readBuildJob>;
        try {
          const [job, pods] = await Promise.all([this.readJob(jobName), this.listPods(request.buildId)]);
          if (!job) {
            throw new BuildFailure(
              `the build's Job ${options.namespace}/${jobName} disappeared before it finished (deleted outside the compile worker?)`,
              'infrastructure',
            );
          }
          failingSince = undefined;
          reading = readBuildJob(job, pods, {
            now: Date.now(),
            schedulingTimeoutMs: options.schedulingTimeoutMs,
            timeoutMs: request.timeoutMs,
            memoryLimit: options.resources.memoryLimit,
            image: options.image,
          });
        } catch (error) {
          if (error instanceof BuildFailure) throw error;
          failingSince ??= Date.now();
          if (Date.now() - failingSince >= options.apiErrorBudgetMs) {
            await this.deleteJob(jobName, log);
            throw new BuildFailure(`lost contact with the Kubernetes API: ${describe(error)}`, 'infrastructure');
          }
          log('system', `Kubernetes API error (retrying): ${describe(error)}`);
          await sleep(options.pollIntervalMs, signal);
          continue;
        }

        if (reading.podName && !follower) {
          follower = new PodLogFollower(
            this.logs,
            { namespace: options.namespace, pod: reading.podName, container: BUILD_CONTAINER },
            onLine,
            (problem) => log('system', problem),
          );
        }
        // Follow once the container started; resume a dropped follow only while it still runs
        // (once it ended, `finish` reads what is left).
        if (reading.logsAvailable && !(reading.containerEnded && follower?.started)) follower?.ensureFollowing();

        const { state } = reading;
        switch (state.phase) {
          case 'succeeded':
            await follower?.finish(drainMs);
            log('system', `Job ${jobName} complete`);
            return toolchain === undefined ? {} : { toolchain };
          case 'failed': {
            await follower?.finish(drainMs);
            // A compile error is summarized by its first error, as the local executor does.
            const message = state.exitCode === BUILD_EXIT_CODES.compile && errors[0] ? errors[0] : state.message;
            throw new BuildFailure(message, state.kind, state.kind === 'compile' ? errors.slice(0, 20) : []);
          }
          case 'cannot-start':
            await this.deleteJob(jobName, log);
            throw new BuildFailure(state.message, 'infrastructure');
          case 'pending':
            if (state.detail && state.detail !== lastDetail) log('system', `build pod pending: ${state.detail}`);
            lastDetail = state.detail;
            break;
          case 'running':
            lastDetail = undefined;
            break;
        }
        if (Date.now() > watchdogAt) {
          await this.deleteJob(jobName, log);
          throw new BuildFailure(`build exceeded its time limit of ${Math.round(request.timeoutMs / 1000)} s`, 'timeout');
        }
        await sleep(options.pollIntervalMs, signal);
      }
    } finally {
      follower?.stop();
    }
  }

  /** Creates the Job; a Job of the same build left by an earlier attempt is deleted first. */
  private async createJob(manifest: V1Job, log: LogSink): Promise<void> {
    const name = manifest.metadata!.name!;
    const create = () => this.batch.createNamespacedJob({ namespace: this.options.namespace, body: manifest }, this.callOptions());
    try {
      await create();
      return;
    } catch (error) {
      if (statusOf(error) !== 409) throw new BuildFailure(`could not create the build Job: ${describe(error)}`, 'infrastructure');
    }
    log('system', `a Job ${name} of an earlier attempt exists; replacing it`);
    await this.deleteJob(name, log);
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await create();
        return;
      } catch (error) {
        if (statusOf(error) !== 409 || Date.now() > deadline)
          throw new BuildFailure(`could not create the build Job: ${describe(error)}`, 'infrastructure');
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, this.options.pollIntervalMs)));
    }
  }

  private async readJob(name: string): Promise<V1Job | undefined> {
    try {
      return await this.batch.readNamespacedJob({ name, namespace: this.options.namespace }, this.callOptions());
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  private async listPods(buildId: string): Promise<V1Pod[]> {
    const list = await this.core.listNamespacedPod(
      { namespace: this.options.namespace, labelSelector: `${BUILD_ID_LABEL}=${buildId}` },
      this.callOptions(),
    );
    return list.items;
  }

  /** Deletes a Job and, through garbage collection, its pods; a Job already gone is fine. */
  private async deleteJob(name: string, log?: LogSink): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.batch.deleteNamespacedJob(
          { name, namespace: this.options.namespace, propagationPolicy: 'Background' },
          this.callOptions(),
        );
        return;
      } catch (error) {
        if (statusOf(error) === 404) return;
        if (attempt >= 3) {
          log?.('system', `could not delete Job ${name}: ${describe(error)} (its activeDeadlineSeconds still stops it)`);
          return;
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }

  /** Per-request options: every Kubernetes API request is aborted after K8S_API_TIMEOUT_MS. */
  private callOptions(): ConfigurationOptions {
    const timeoutMs = this.options.apiTimeoutMs;
    return {
      middleware: [
        {
          pre: (context) => {
            context.setSignal(AbortSignal.timeout(timeoutMs));
            return new Observable(Promise.resolve(context));
          },
          post: (context) => new Observable(Promise.resolve(context)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
  }
}

/** The executor's options from its configuration and the worker's own settings. */
export function kubernetesExecutorOptions(
  config: KubernetesExecutorConfig,
  worker: { dataDir: string; sdkPath: string; logMaxBytes: number },
): KubernetesExecutorOptions {
  return {
    namespace: config.K8S_NAMESPACE,
    image: config.K8S_BUILD_IMAGE,
    imagePullPolicy: config.K8S_BUILD_IMAGE_PULL_POLICY,
    imagePullSecrets: config.K8S_BUILD_IMAGE_PULL_SECRETS,
    ...(config.K8S_BUILD_SERVICE_ACCOUNT ? { serviceAccountName: config.K8S_BUILD_SERVICE_ACCOUNT } : {}),
    resources: {
      cpuRequest: config.K8S_BUILD_CPU_REQUEST,
      cpuLimit: config.K8S_BUILD_CPU_LIMIT,
      memoryRequest: config.K8S_BUILD_MEMORY_REQUEST,
      memoryLimit: config.K8S_BUILD_MEMORY_LIMIT,
    },
    workSizeLimit: config.K8S_BUILD_WORK_SIZE_LIMIT,
    tmpSizeLimit: config.K8S_BUILD_TMP_SIZE_LIMIT,
    ...(config.K8S_BUILD_NODE_SELECTOR ? { nodeSelector: config.K8S_BUILD_NODE_SELECTOR } : {}),
    ...(config.K8S_BUILD_TOLERATIONS ? { tolerations: config.K8S_BUILD_TOLERATIONS } : {}),
    ...(config.K8S_BUILD_RUNTIME_CLASS ? { runtimeClassName: config.K8S_BUILD_RUNTIME_CLASS } : {}),
    ...(config.K8S_BUILD_HOST_USERS !== undefined ? { hostUsers: config.K8S_BUILD_HOST_USERS } : {}),
    jobTtlSeconds: config.K8S_JOB_TTL_SECONDS,
    sdk: { onWorker: worker.sdkPath, inImage: config.K8S_SDK_PATH_IN_IMAGE },
    seedDir: config.K8S_SEED_DIR_IN_IMAGE,
    apiInternalUrl: config.IGNITE_API_INTERNAL_URL,
    tokenKey: config.IGNITE_BUILD_TOKEN_KEY,
    dataDir: worker.dataDir,
    logMaxBytes: worker.logMaxBytes,
    pollIntervalMs: config.K8S_POLL_INTERVAL_MS,
    schedulingTimeoutMs: config.K8S_SCHEDULING_TIMEOUT_SECONDS * 1000,
    apiTimeoutMs: config.K8S_API_TIMEOUT_MS,
    apiErrorBudgetMs: config.K8S_API_ERROR_BUDGET_MS,
  };
}

/** The executor with the cluster connection of `KubeConfig.loadFromDefault()` (KUBECONFIG, ~/.kube/config, or in-cluster). */
export function createKubernetesExecutor(
  config: KubernetesExecutorConfig,
  worker: { dataDir: string; sdkPath: string; logMaxBytes: number },
): KubernetesExecutor {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return new KubernetesExecutor(kubernetesExecutorOptions(config, worker), kubeConfig);
}

/** The build log, cut at `maxBytes` with one line saying so (the build goes on). */
function cappedLog(log: LogSink, maxBytes: number): LogSink {
  let bytes = 0;
  let truncated = false;
  return (stream, text) => {
    if (truncated) return;
    bytes += Buffer.byteLength(text) + 1;
    if (bytes > maxBytes) {
      truncated = true;
      log('system', `build log truncated at ${maxBytes} bytes; the build goes on`);
      return;
    }
    log(stream, text);
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** The HTTP status of a Kubernetes API error (client-node's ApiException carries it as `code`). */
function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function describe(error: unknown): string {
  if (error === null || typeof error !== 'object') return String(error);
  const status = statusOf(error);
  const body = (error as { body?: unknown }).body;
  let detail: string | undefined;
  if (typeof body === 'string') {
    try {
      detail = (JSON.parse(body) as { message?: string }).message;
    } catch {
      detail = body.slice(0, 300);
    }
  } else if (body && typeof body === 'object') {
    detail = (body as { message?: string }).message;
  }
  const message = (error as { message?: string }).message ?? String(error);
  return status !== undefined ? `HTTP ${status}${detail ? `: ${detail}` : ''}` : message;
}
