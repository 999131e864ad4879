import { testRedisUrl, uniqueName } from '@ignite/testing';
import { type Job, Queue, QueueEvents, Worker } from 'bullmq';
import { createRedis } from './redis';

describe('BullMQ against the real Redis', () => {
  it('sends a job and a worker processes it', async () => {
    const name = uniqueName('queue');
    const prefix = 'ignite-test';
    const connections = [createRedis(testRedisUrl()), createRedis(testRedisUrl()), createRedis(testRedisUrl())];
    const [queueConnection, eventsConnection, workerConnection] = connections;
    const queue = new Queue(name, { connection: queueConnection!, prefix });
    const events = new QueueEvents(name, { connection: eventsConnection!, prefix });
    const seen: unknown[] = [];
    const worker = new Worker(
      name,
      async (job: Job<{ n: number }>) => {
        seen.push(job.data);
        return { doubled: job.data.n * 2 };
      },
      { connection: workerConnection!, prefix },
    );
    try {
      await events.waitUntilReady();
      const job = await queue.add('double', { n: 21 });
      const result = await job.waitUntilFinished(events, 10_000);

      expect(result).toEqual({ doubled: 42 });
      expect(seen).toEqual([{ n: 21 }]);
      expect(await queue.getJobCounts('completed')).toEqual({ completed: 1 });
    } finally {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await events.close();
      for (const connection of connections) connection.disconnect();
    }
  });
});
