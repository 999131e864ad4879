import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import type { BuildFailureKind } from '../build-executor';
import { BUILD_EXIT_CODES } from './build-script';
import { BUILD_CONTAINER } from './job-manifest';

/** Where a build stands, read from its Job and pod (pure: the executor polls, this decides). */
export type BuildJobState =
  | { phase: 'pending'; detail?: string }
  | { phase: 'running' }
  | { phase: 'succeeded' }
  | { phase: 'failed'; kind: BuildFailureKind; message: string; exitCode?: number }
  /** The pod can never run: the Job must be deleted (Kubernetes would keep it waiting until its deadline). */
  | { phase: 'cannot-start'; message: string };

export interface BuildJobReading {
  state: BuildJobState;
  /** The build's pod, once there is one. */
  podName?: string;
  /** The build container started (its log can be followed). */
  logsAvailable: boolean;
  /** The build container has exited. */
  containerEnded: boolean;
}

/** Waiting reasons that mean the image will not be there without someone fixing something. */
const IMAGE_PROBLEMS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
/** Waiting reasons that mean the container cannot be created as specified. */
const CONTAINER_PROBLEMS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

const toMillis = (time: Date | string | undefined): number | undefined => {
  if (time === undefined) return undefined;
  const value = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(value) ? undefined : value;
};

/** The pod the Job made (pods of an earlier Job with the same name are ignored), newest first. */
export function podOfJob(job: V1Job, pods: V1Pod[]): V1Pod | undefined {
  const uid = job.metadata?.uid;
  const owned = pods.filter((pod) => uid === undefined || pod.metadata?.ownerReferences?.some((owner) => owner.uid === uid));
  return owned.sort((a, b) => (toMillis(b.metadata?.creationTimestamp) ?? 0) - (toMillis(a.metadata?.creationTimestamp) ?? 0))[0];
}

export function readBuildJob(
  job: V1Job,
  pods: V1Pod[],
  options: { now: number; schedulingTimeoutMs: number; timeoutMs: number; memoryLimit: string; image: string },
): BuildJobReading {
  const pod = podOfJob(job, pods);
  const container = pod?.status?.containerStatuses?.find((status) => status.name === BUILD_CONTAINER);
  const logsAvailable = container?.state?.running !== undefined || container?.state?.terminated !== undefined;
  const base = { podName: pod?.metadata?.name, logsAvailable, containerEnded: container?.state?.terminated !== undefined };

  const conditions = job.status?.conditions ?? [];
  const holds = (type: string) => conditions.find((condition) => condition.type === type && condition.status === 'True');
  if (holds('Complete') || holds('SuccessCriteriaMet')) return { ...base, state: { phase: 'succeeded' } };
  const failed = holds('Failed') ?? holds('FailureTarget');
  if (failed) return { ...base, state: jobFailure(failed.reason, failed.message, pod, container, options) };

  if (container?.state?.waiting) {
    const { reason = '', message = '' } = container.state.waiting;
    if (IMAGE_PROBLEMS.has(reason)) {
      return {
        ...base,
        state: {
          phase: 'cannot-start',
          message: `the build image ${options.image} could not be pulled (${reason})${message ? `: ${message}` : ''}`,
        },
      };
    }
    if (CONTAINER_PROBLEMS.has(reason)) {
      return {
        ...base,
        state: { phase: 'cannot-start', message: `the build container could not be started (${reason})${message ? `: ${message}` : ''}` },
      };
    }
  }
  const scheduled = pod?.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const since = toMillis(scheduled.lastTransitionTime) ?? toMillis(pod?.metadata?.creationTimestamp) ?? options.now;
    const waited = options.now - since;
    if (waited >= options.schedulingTimeoutMs) {
      return {
        ...base,
        state: {
          phase: 'cannot-start',
          message: `the build pod could not be scheduled for ${Math.round(waited / 1000)} s: ${scheduled.message ?? 'no node fits it'}`,
        },
      };
    }
    return { ...base, state: { phase: 'pending', detail: `waiting for a node: ${scheduled.message ?? 'unschedulable'}` } };
  }
  if (logsAvailable) return { ...base, state: { phase: 'running' } };
  return { ...base, state: { phase: 'pending', ...(container?.state?.waiting?.reason ? { detail: container.state.waiting.reason } : {}) } };
}

function jobFailure(
  reason: string | undefined,
  message: string | undefined,
  pod: V1Pod | undefined,
  container: V1ContainerStatus | undefined,
  options: { timeoutMs: number; memoryLimit: string },
): BuildJobState {
  if (reason === 'DeadlineExceeded') {
    return { phase: 'failed', kind: 'timeout', message: `build exceeded its time limit of ${Math.round(options.timeoutMs / 1000)} s` };
  }
  const terminated = container?.state?.terminated ?? container?.lastState?.terminated;
  if (terminated) {
    const code = terminated.exitCode;
    if (terminated.reason === 'OOMKilled') {
      return {
        phase: 'failed',
        kind: 'compile',
        exitCode: code,
        message: `the build ran out of memory (limit ${options.memoryLimit}); reduce what it compiles at once or ask for a larger build memory limit`,
      };
    }
    switch (code) {
      case BUILD_EXIT_CODES.compile:
        return { phase: 'failed', kind: 'compile', exitCode: code, message: `cargo build failed (exit code ${code})` };
      case BUILD_EXIT_CODES.contextDownload:
        return {
          phase: 'failed',
          kind: 'infrastructure',
          exitCode: code,
          message: 'the build pod could not download the build context from the API',
        };
      case BUILD_EXIT_CODES.contextUnpack:
        return { phase: 'failed', kind: 'infrastructure', exitCode: code, message: 'the build pod could not unpack the build context' };
      case BUILD_EXIT_CODES.artifactMissing:
        return { phase: 'failed', kind: 'infrastructure', exitCode: code, message: 'cargo finished but left no artifact' };
      case BUILD_EXIT_CODES.artifactUpload:
        return {
          phase: 'failed',
          kind: 'infrastructure',
          exitCode: code,
          message: 'the build pod could not upload the artifact to the API',
        };
      case BUILD_EXIT_CODES.seed:
        return {
          phase: 'failed',
          kind: 'infrastructure',
          exitCode: code,
          message: "the build pod could not copy the image's pre-built dependencies (is its /work volume large enough?)",
        };
      default:
        // Evicted and the like: the pod's own reason says more than the exit code of the killed container.
        if (pod?.status?.reason) return podFailure(pod, code);
        return {
          phase: 'failed',
          kind: 'infrastructure',
          exitCode: code,
          message: `the build pod failed with exit code ${code}${terminated.reason ? ` (${terminated.reason})` : ''}${terminated.message ? `: ${terminated.message}` : ''}`,
        };
    }
  }
  if (pod?.status?.reason) return podFailure(pod, undefined);
  return {
    phase: 'failed',
    kind: 'infrastructure',
    message: `the build Job failed${reason ? ` (${reason})` : ''}${message ? `: ${message}` : ''}`,
  };
}

function podFailure(pod: V1Pod, exitCode: number | undefined): BuildJobState {
  const status = pod.status ?? {};
  return {
    phase: 'failed',
    kind: 'infrastructure',
    ...(exitCode === undefined ? {} : { exitCode }),
    message: `the build pod failed (${status.reason})${status.message ? `: ${status.message}` : ''}`,
  };
}
