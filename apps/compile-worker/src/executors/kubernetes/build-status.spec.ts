import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { readBuildJob } from './build-status';

const now = Date.parse('2026-03-01T12:00:00Z');
const options = { now, schedulingTimeoutMs: 60_000, timeoutMs: 600_000, memoryLimit: '4Gi', image: 'ignite/compile:1.93' };
const job = (conditions: { type: string; status: string; reason?: string; message?: string }[] = []): V1Job => ({
  metadata: { name: 'ignite-build-x', uid: 'job-uid' },
  status: { conditions },
});
const pod = (status: V1Pod['status'], owner = 'job-uid'): V1Pod => ({
  metadata: {
    name: 'ignite-build-x-abcde',
    ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: 'ignite-build-x', uid: owner }],
    creationTimestamp: new Date(now - 1000),
  },
  status,
});

describe('readBuildJob', () => {
  it('is pending until the Job has a pod, and ignores pods of an earlier Job of the same name', () => {
    expect(readBuildJob(job(), [], options)).toEqual({
      state: { phase: 'pending' },
      podName: undefined,
      logsAvailable: false,
      containerEnded: false,
    });
    const stale = pod(
      { containerStatuses: [{ name: 'build', image: 'x', imageID: '', ready: false, restartCount: 0, state: { running: {} } }] },
      'old-uid',
    );
    expect(readBuildJob(job(), [stale], options).state).toEqual({ phase: 'pending' });
  });

  it('waits for a node within the scheduling timeout', () => {
    const waiting = pod({
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/2 nodes are available',
          lastTransitionTime: new Date(now - 10_000),
        },
      ],
    });
    expect(readBuildJob(job(), [waiting], options).state).toEqual({
      phase: 'pending',
      detail: 'waiting for a node: 0/2 nodes are available',
    });
    expect(readBuildJob(job(), [waiting], { ...options, schedulingTimeoutMs: 5_000 }).state).toEqual({
      phase: 'cannot-start',
      message: 'the build pod could not be scheduled for 10 s: 0/2 nodes are available',
    });
  });

  it('cannot start a container that cannot be created', () => {
    const broken = pod({
      containerStatuses: [
        {
          name: 'build',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "x" not found' } },
        },
      ],
    });
    expect(readBuildJob(job(), [broken], options).state).toEqual({
      phase: 'cannot-start',
      message: 'the build container could not be started (CreateContainerConfigError): secret "x" not found',
    });
  });

  it('says why an evicted pod failed rather than its exit code', () => {
    const evicted = pod({
      phase: 'Failed',
      reason: 'Evicted',
      message: 'The node was low on resource: ephemeral-storage.',
      containerStatuses: [
        {
          name: 'build',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 137, reason: 'Error' } },
        },
      ],
    });
    const reading = readBuildJob(job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]), [evicted], options);
    expect(reading.state).toEqual({
      phase: 'failed',
      kind: 'infrastructure',
      exitCode: 137,
      message: 'the build pod failed (Evicted): The node was low on resource: ephemeral-storage.',
    });
    expect(reading.containerEnded).toBe(true);
  });

  it('reports a Job that failed without a pod to tell why', () => {
    expect(
      readBuildJob(job([{ type: 'Failed', status: 'True', reason: 'PodFailurePolicy', message: 'Container build failed' }]), [], options)
        .state,
    ).toEqual({
      phase: 'failed',
      kind: 'infrastructure',
      message: 'the build Job failed (PodFailurePolicy): Container build failed',
    });
  });
});
