import { randomUUID } from 'node:crypto';
import { channels, readFunctionLogStreamEntry } from '@ignite/contracts';
import { createRedis } from '@ignite/service-kit';
import { testRedisUrl, uniqueName } from '@ignite/testing';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { Metrics } from '../metrics';
import { LogShipper } from './log-shipper';
import { LogSource } from './log-sink';

const logger = pino({ level: 'silent' });
const noInstances = () => ({ starting: 0, ready: 0, busy: 0, draining: 0, stopping: 0, waiting: 0 });

describe('LogShipper', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = createRedis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  });
  afterAll(() => redis.quit());

  it('appends the lines of each release as stream entries that read back whole, in order', async () => {
    const prefix = uniqueName('log-shipper');
    const shipper = new LogShipper({
      redis,
      prefix,
      logger,
      metrics: new Metrics(noInstances, { defaultMetrics: false }),
      flushIntervalMs: 5,
    });
    const a = new LogSource(randomUUID(), randomUUID(), 'instance-a');
    const b = new LogSource(randomUUID(), randomUUID(), 'instance-b');
    const at = Date.now();
    shipper.write(a, { stream: 'stderr', text: 'a0', executionId: 'e-1', at });
    shipper.write(b, { stream: 'stdout', text: 'b0', executionId: undefined, at });
    shipper.write(a, { stream: 'platform', text: 'a1', executionId: undefined, at });
    await shipper.close();

    const entries = await redis.xrange(channels.functionLogs(prefix), '-', '+');
    await redis.del(channels.functionLogs(prefix));
    const read = entries.map(([, fields]) => readFunctionLogStreamEntry(fields));
    expect(read.flatMap((entry) => entry.invalid)).toEqual([]);
    expect(read.flatMap((entry) => entry.lines)).toEqual([
      {
        appId: a.appId,
        releaseId: a.releaseId,
        instanceId: 'instance-a',
        seq: 0,
        executionId: 'e-1',
        stream: 'stderr',
        text: 'a0',
        at: new Date(at),
      },
      {
        appId: a.appId,
        releaseId: a.releaseId,
        instanceId: 'instance-a',
        seq: 1,
        executionId: null,
        stream: 'platform',
        text: 'a1',
        at: new Date(at),
      },
      {
        appId: b.appId,
        releaseId: b.releaseId,
        instanceId: 'instance-b',
        seq: 0,
        executionId: null,
        stream: 'stdout',
        text: 'b0',
        at: new Date(at),
      },
    ]);
  });

  it('holds lines while Redis is away, bounded, and sends them once it is back', async () => {
    const prefix = uniqueName('log-shipper');
    const metrics = new Metrics(noInstances, { defaultMetrics: false });
    // A connection of its own, closed for the outage.
    const connection = createRedis(testRedisUrl(), { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await connection.connect();
    const shipper = new LogShipper({ redis: connection, prefix, logger, metrics, flushIntervalMs: 5, maxPending: 3 });
    const source = new LogSource(randomUUID(), randomUUID(), 'instance');
    connection.disconnect();
    for (let i = 0; i < 5; i++) shipper.write(source, { stream: 'stderr', text: `line ${i}`, executionId: undefined, at: Date.now() });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await metrics.functionLogLinesDropped.get()).values[0]?.value).toBe(2);
    await connection.connect();
    await shipper.close();
    const entries = await redis.xrange(channels.functionLogs(prefix), '-', '+');
    await redis.del(channels.functionLogs(prefix));
    connection.disconnect();
    expect(entries.flatMap(([, fields]) => readFunctionLogStreamEntry(fields).lines.map((l) => l.text))).toEqual([
      'line 0',
      'line 1',
      'line 2',
    ]);
  });
});
