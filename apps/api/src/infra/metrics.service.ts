import { Injectable } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Registry } from 'prom-client';

/** The API's Prometheus metrics, in a registry of its own (several apps may share a process in tests). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'ignite_api_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly buildsEnqueued = new Counter({
    name: 'ignite_api_builds_enqueued_total',
    help: 'Builds put on the build queue',
    registers: [this.registry],
  });

  readonly invocations = new Counter({
    name: 'ignite_api_invocations_total',
    help: 'Invocations forwarded to the runner, by outcome (the runner status code, or unavailable/error)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly invocationsRecorded = new Counter({
    name: 'ignite_api_invocations_recorded_total',
    help: 'Invocation reports read from the invocations stream and recorded in Postgres',
    registers: [this.registry],
  });

  constructor() {
    // The event loop lag sampled every 100 ms, not every 10 (prom-client's default): that timer
    // alone cost an idle process ≈8 ms of CPU a second.
    collectDefaultMetrics({ register: this.registry, prefix: 'ignite_api_', eventLoopMonitoringPrecision: 100 });
  }
}
