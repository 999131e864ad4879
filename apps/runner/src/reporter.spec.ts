import { randomUUID } from 'node:crypto';
import { channels, executionIdAt, type InvocationReport, packDirectReport, readInvocationStreamEntry } from '@ignite/contracts';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, uniqueName } from '@ignite/testing';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { Metrics } from './metrics';
import { InvocationReporter } from './reporter';

const logger = pino({ level: 'silent' });
const noInstances = () => ({ starting: 0, ready: 0, busy: 0, draining: 0, stopping: 0, waiting: 0 });

function ownReport(statusCode: number): InvocationReport {
  return {
    executionId: randomUUID(),
    appId: randomUUID(),
    releaseId: randomUUID(),
    statusCode,
    durationMs: 1.25,
    cold: false,
    error: statusCode >= 500 ? `failed with ${statusCode}` : null,
    at: new Date().toISOString(),
  };
}

/** A program's `reports` line as the SDK writes it. */
function directLine(executionIds: string[]): Buffer {
  const records = Buffer.concat(executionIds.map((e) => packDirectReport({ e, d: 0.5, s: 200 })));
  return Buffer.from(JSON.stringify({ type: 'reports', records: records.toString('base64') }));
}

describe('InvocationReporter', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.quit());

  it('appends its own reports and programs’ batches as stream entries that read back whole', async () => {
    const prefix = uniqueName('reporter');
    const metrics = new Metrics(noInstances, { defaultMetrics: false });
    const reporter = new InvocationReporter({ redis, prefix, logger, metrics, flushIntervalMs: 5, batchSize: 2 });
    const own = [ownReport(200), ownReport(500), ownReport(504)];
    for (const report of own) reporter.report(report);
    const appId = randomUUID();
    const releaseId = randomUUID();
    const directIds = [executionIdAt(Date.now()), executionIdAt(Date.now())];
    reporter.reportDirect(appId, releaseId, directLine(directIds), directIds.length);
    await reporter.close();

    const entries = await redis.xrange(channels.invocations(prefix), '-', '+');
    await redis.del(channels.invocations(prefix));
    // Own reports in batches of two, then the program's batch as it sent it.
    expect(entries).toHaveLength(3);
    const read = entries.map(([, fields]) => readInvocationStreamEntry(fields));
    expect(read.flatMap((entry) => entry.invalid)).toEqual([]);
    expect(read.slice(0, 2).flatMap((entry) => entry.reports)).toEqual(own);
    expect(read[2]!.reports.map((r) => [r.executionId, r.appId, r.releaseId, r.statusCode])).toEqual(
      directIds.map((id) => [id, appId, releaseId, 200]),
    );
    expect(await metrics.registry.getSingleMetricAsString('ignite_runner_reports_dropped_total')).toMatch(/ 0$/m);
  });

  it('holds reports while Redis is away, up to its bound, and counts the oldest it drops', async () => {
    // Nothing listens there, and without an offline queue every command fails at once.
    const away = createRedis('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    const metrics = new Metrics(noInstances, { defaultMetrics: false });
    const reporter = new InvocationReporter({
      redis: away,
      prefix: uniqueName('reporter'),
      logger,
      metrics,
      flushIntervalMs: 1,
      batchSize: 10,
      maxPending: 30,
    });
    for (let i = 0; i < 20; i++) reporter.report(ownReport(200));
    reporter.reportDirect(randomUUID(), randomUUID(), directLine([executionIdAt(Date.now())]), 10);
    // The first send is refused at once (no offline queue) and its entries go back to the queue;
    // within the bound nothing is dropped.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await metrics.registry.getSingleMetricAsString('ignite_runner_reports_dropped_total')).toMatch(/ 0$/m);
    // Past the bound the oldest entry (10 reports) goes.
    reporter.report(ownReport(200));
    expect(await metrics.registry.getSingleMetricAsString('ignite_runner_reports_dropped_total')).toMatch(/ 10$/m);
    await reporter.close();
    away.disconnect();
  });
  it('sends what it sent lately again once Redis is back after a lost connection (a restart without its data)', async () => {
    const prefix = uniqueName('reporter');
    const stream = channels.invocations(prefix);
    const connection = createRedis(testRedisUrl(), { maxRetriesPerRequest: 1 });
    await new Promise((resolve) => connection.once('ready', resolve));
    const metrics = new Metrics(noInstances, { defaultMetrics: false });
    const reporter = new InvocationReporter({ redis: connection, prefix, logger, metrics, flushIntervalMs: 5 });
    const sent = ownReport(200);
    reporter.report(sent);
    const waitForLength = async (n: number) => {
      for (let i = 0; i < 200 && (await redis.xlen(stream)) !== n; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      return redis.xlen(stream);
    };
    expect(await waitForLength(1)).toBe(1);
    // What a Redis restarted without its data has: nothing; then the connection comes back.
    await redis.del(stream);
    connection.disconnect(true);
    expect(await waitForLength(1)).toBe(1);
    const [[, fields]] = (await redis.xrange(stream, '-', '+')) as [[string, string[]]];
    expect(readInvocationStreamEntry(fields).reports).toEqual([sent]);
    await reporter.close();
    await redis.del(stream);
    await connection.quit();
  });
});
