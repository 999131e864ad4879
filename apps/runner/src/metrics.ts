import type { DirectSummary } from '@ignite/contracts';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from './pool';

/** The runner's Prometheus metrics, on a registry of its own (`GET /metrics`). */
export class Metrics {
  readonly registry = new Registry();

  readonly invocations = new Counter({
    name: 'ignite_runner_invocations_total',
    help: 'Invocations by HTTP status of the answer',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly duration = new Histogram({
    name: 'ignite_runner_invocation_duration_seconds',
    help: 'Time from the request to the end of the answer, by whether the invocation started its instance',
    labelNames: ['cold'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });

  readonly coldStart = new Histogram({
    name: 'ignite_runner_cold_start_seconds',
    help: 'Time to start an instance: artifact, spawn, readiness',
    buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly startFailures = new Counter({
    name: 'ignite_runner_instance_start_failures_total',
    help: 'Instances that could not be started',
    registers: [this.registry],
  });

  readonly instanceExits = new Counter({
    name: 'ignite_runner_instance_exits_total',
    help: 'Instances gone after serving, by cause (stopped, killed, memory, crashed)',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });

  readonly evictions = new Counter({
    name: 'ignite_runner_instance_evictions_total',
    help: 'Idle instances stopped to make room for another function',
    registers: [this.registry],
  });

  readonly queueWait = new Histogram({
    name: 'ignite_runner_queue_wait_seconds',
    help: 'Time invocations waited for an instance slot (those that waited)',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });

  readonly queueRejected = new Counter({
    name: 'ignite_runner_queue_rejections_total',
    help: 'Invocations refused with 503: the queue was full or the wait too long',
    registers: [this.registry],
  });

  readonly directSeconds = new Counter({
    name: 'ignite_runner_direct_invocation_seconds_total',
    help: 'Time spent in invocations served on direct connections (their count is in ignite_runner_invocations_total; ignite_runner_invocation_duration_seconds covers proxied invocations)',
    registers: [this.registry],
  });

  readonly directHandoffs = new Counter({
    name: 'ignite_runner_direct_handoffs_total',
    help: 'Connections of the direct port handed to an instance (new ones, and those routed again)',
    registers: [this.registry],
  });

  /** No function label: a runner serves thousands of functions (their figures are the API's `stats`). */
  readonly functionLogLinesDropped = new Counter({
    name: 'ignite_runner_function_log_lines_dropped_total',
    help: 'Function log lines dropped because Redis was unreachable for too long (lines over the per-instance rate limit are counted in the function log itself)',
    registers: [this.registry],
  });
  readonly reportsDropped = new Counter({
    name: 'ignite_runner_reports_dropped_total',
    help: 'Invocation reports dropped because Redis was unreachable for too long',
    registers: [this.registry],
  });

  private readonly byStatus = new Map<number, { inc(): void }>();
  private readonly warmDuration = this.duration.labels('false');
  private readonly coldDuration = this.duration.labels('true');

  /** Counts one finished invocation (label children cached: this runs per request). */
  invocation(status: number, seconds: number, cold: boolean): void {
    let counter = this.byStatus.get(status);
    if (counter === undefined) {
      counter = this.invocations.labels(String(status));
      this.byStatus.set(status, counter);
    }
    counter.inc();
    (cold ? this.coldDuration : this.warmDuration).observe(seconds);
  }

  /** Invocations a program served on direct connections, a batch at a time (per invocation would cost more than serving them). */
  directInvocations(summary: DirectSummary): void {
    for (const [status, count] of Object.entries(summary.statuses)) {
      if (count > 0) this.invocations.labels(status).inc(count);
    }
    if (summary.seconds > 0) this.directSeconds.inc(summary.seconds);
  }

  constructor(stats: () => PoolStats, options: { defaultMetrics?: boolean } = {}) {
    new Gauge({
      name: 'ignite_runner_instances',
      help: 'Instances by state (ready instances with work in flight are also counted as busy)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const current = stats();
        for (const state of ['starting', 'ready', 'busy', 'draining', 'stopping'] as const) this.set({ state }, current[state]);
      },
    });
    new Gauge({
      name: 'ignite_runner_queue_length',
      help: 'Invocations waiting for an instance slot',
      registers: [this.registry],
      collect() {
        this.set(stats().waiting);
      },
    });
    // The event loop lag is sampled every 100 ms, not prom-client's 10: a timer waking the loop a
    // hundred times a second made up most of the idle runner's CPU (11 → 4 ms a second), a cost
    // every direct invocation shared.
    if (options.defaultMetrics)
      collectDefaultMetrics({ register: this.registry, prefix: 'ignite_runner_', eventLoopMonitoringPrecision: 100 });
  }
}
