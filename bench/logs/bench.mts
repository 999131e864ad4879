/**
 * Benchmark of function logs (run through ./run.sh, which builds what it needs first). Not a
 * test: it prints figures, and fails only if something cannot run at all.
 *
 * (a) What a log line per request costs: the same program (sdk/ignite-rs/fixtures/log-bench) as
 *     two apps, one logging a line per request (LOG_EACH_REQUEST), one not, each with one warm
 *     instance on the sandboxed runner, driven by wrk on the data plane's public route (the
 *     direct port, with an API key), ROUNDS rounds in alternating order; the figure is the median
 *     of the rounds' throughput ratios (goal >= 0.9). Every line goes all the way: runner, Redis
 *     stream, the API, Postgres (each run waits for the stream to drain before the next).
 * (b) Follow latency: an `ignite logs --follow` of the logging app (the API's Server-Sent Events),
 *     then FOLLOW_RUNS invocations one after another, each timed from just before it is sent to
 *     its line arriving at the follower (goal p50 <= 200 ms).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { API_KEY_PREFIX, channels, hashApiKey } from '@ignite/contracts';
import { createPrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

const settings = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ignite',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  program: process.env.LOG_BENCH_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'sdk/ignite-rs/target'), 'release/log-bench'),
  basePort: Number(process.env.BASE_PORT ?? 18381),
  duration: process.env.DURATION ?? '5s',
  warmup: process.env.WARMUP ?? '2s',
  connections: Number(process.env.CONNECTIONS ?? 32),
  rounds: Number(process.env.ROUNDS ?? 5),
  followRuns: Number(process.env.FOLLOW_RUNS ?? 50),
};

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

async function wrk(url: string, connections: number, duration: string, key: string): Promise<{ rps: number; errors: number }> {
  const script = join(ROOT, 'bench/invoke/post.lua');
  const { stdout } = await run('wrk', ['-t1', `-c${connections}`, `-d${duration}`, '--timeout', '10s', '-s', script, url, '--', key], {
    maxBuffer: 1024 * 1024,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
  const raw = JSON.parse(line.slice('RESULT '.length)) as Record<string, number>;
  return {
    rps: raw.requests! / (raw.duration_us! / 1e6),
    errors: raw.connect! + raw.read! + raw.write! + raw.status! + raw.timeout!,
  };
}

/** A platform process, ready once its readiness URL answers. */
function service(name: string, main: string, env: NodeJS.ProcessEnv, readyUrl: string): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const ready = new Promise<void>((resolveReady, reject) => {
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}):\n${output}`)));
    const poll = async () => {
      const up = await fetch(readyUrl).then(
        (r) => r.ok,
        () => false,
      );
      if (up) resolveReady();
      else setTimeout(poll, 200);
    };
    void poll();
  });
  return { child, ready };
}

async function main(): Promise<void> {
  const loadAverage = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  log(`${cpus().length} CPUs, load average ${await loadAverage()}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'ignite-bench-logs-'));
  const prefix = `ignite-bench-logs-${randomBytes(4).toString('hex')}`;
  const prisma = createPrismaClient(settings.databaseUrl);
  const redis = createRedis(settings.redisUrl, { maxRetriesPerRequest: 1 });
  const store = new FilesystemBlobStore(join(dataDir, 'blobs'));
  const org = await prisma.org.create({ data: { slug: `bench-${randomBytes(4).toString('hex')}` } });
  const children: ChildProcess[] = [];
  try {
    const artifact = await store.put(await readFile(settings.program));
    const seed = async (name: string, env: Record<string, string>) => {
      const app = await prisma.app.create({ data: { orgId: org.id, name, env } });
      const build = await prisma.build.create({
        data: { appId: app.id, draftRevision: 1, sourceSha256: 'b'.repeat(64), target: 'native', status: 'succeeded' },
      });
      const release = await prisma.release.create({
        data: {
          appId: app.id,
          buildId: build.id,
          number: 1,
          target: 'native',
          artifactSha256: artifact.sha256,
          artifactSize: artifact.size,
        },
      });
      await prisma.app.update({ where: { id: app.id }, data: { activeReleaseId: release.id } });
      return app;
    };
    await seed('quiet', {});
    const logging = await seed('logging', { LOG_EACH_REQUEST: '1' });
    const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
    await prisma.apiKey.create({ data: { orgId: org.id, name: 'bench', prefix: key.slice(4, 12), hash: hashApiKey(key) } });

    const port = settings.basePort;
    const common = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: settings.databaseUrl,
      REDIS_URL: settings.redisUrl,
      IGNITE_DATA_DIR: dataDir,
      IGNITE_QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      // PROFILE_DIR: a V8 CPU profile of the runner and the API (written when they stop), to see where a line's cost goes.
      ...(process.env.PROFILE_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.PROFILE_DIR}` } : {}),
    };
    const runner = service(
      'runner',
      join(ROOT, 'apps/runner/dist/main.js'),
      {
        ...common,
        RUNNER_PORT: String(port),
        RUNNER_DIRECT_PORT: String(port + 1),
        RUNNER_MAX_INSTANCES_PER_FUNCTION: '1',
        RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: String(Math.max(64, settings.connections * 2)),
        RUNNER_QUEUE_WAIT_MS: '10000',
        RUNNER_ALLOW_UNAUTHENTICATED: 'true',
        // Every line of the measured runs is shipped: the rate limit is the flood guard, not the subject.
        RUNNER_FUNCTION_LOG_LINES_PER_SECOND: '1000000',
        // Nor are the apps' own rate limits.
        RUNNER_APP_RATE_LIMIT: '1000000',
        RUNNER_ORG_RATE_LIMIT: '1000000',
      },
      `http://127.0.0.1:${port}/readyz`,
    );
    children.push(runner.child);
    const api = service(
      'api',
      join(ROOT, 'apps/api/dist/main.js'),
      {
        ...common,
        HOST: '127.0.0.1',
        IGNITE_BOOTSTRAP_LOCAL: 'false',
        PORT: String(port + 2),
        RUNNER_DIRECT_URL: `http://127.0.0.1:${port + 1}`,
      },
      `http://127.0.0.1:${port + 2}/readyz`,
    );
    children.push(api.child);
    await Promise.all([runner.ready, api.ready]);
    const url = (app: string) => `http://127.0.0.1:${port + 1}/v1/orgs/${org.slug}/apps/${app}/invoke`;
    for (const app of ['quiet', 'logging']) {
      const probe = await fetch(url(app), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: '{"message":"hi there"}',
      });
      if (probe.status !== 200) throw new Error(`${app} answered ${probe.status}: ${await probe.text()}`);
    }
    log(`runner and API ready; org ${org.slug}`);

    // Between runs, what the last one shipped is left to reach Postgres, so that it does not
    // land on the next measurement.
    const drain = async () => {
      const started = performance.now();
      for (const stream of [channels.functionLogs(prefix), channels.invocations(prefix)]) {
        for (;;) {
          const groups = (await redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
          const group = groups.map((fields) => Object.fromEntries(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]]]))))[0];
          if (group === undefined || (Number(group.lag) === 0 && Number(group.pending) === 0)) break;
          if (performance.now() - started > 120_000) break;
          await new Promise((done) => setTimeout(done, 200));
        }
      }
    };

    // (a)
    const ratios: number[] = [];
    const rps: Record<'quiet' | 'logging', number[]> = { quiet: [], logging: [] };
    for (let round = 1; round <= settings.rounds; round++) {
      const order: ('quiet' | 'logging')[] = round % 2 ? ['quiet', 'logging'] : ['logging', 'quiet'];
      const measured: Partial<Record<'quiet' | 'logging', number>> = {};
      for (const app of order) {
        await drain();
        await wrk(url(app), settings.connections, settings.warmup, key);
        await drain();
        const load = await wrk(url(app), settings.connections, settings.duration, key);
        if (load.errors > 0) throw new Error(`${app}: wrk saw ${load.errors} errors`);
        measured[app] = load.rps;
        rps[app].push(load.rps);
        log(`round ${round} ${app}: ${load.rps.toFixed(0)} req/s`);
      }
      ratios.push(measured.logging! / measured.quiet!);
    }
    await drain();
    const stored =
      (await prisma.functionLogChunk.aggregate({ where: { appId: logging.id }, _sum: { lineCount: true } }))._sum.lineCount ?? 0;

    // (b)
    const follow = await fetch(`http://127.0.0.1:${port + 2}/v1/orgs/${org.slug}/apps/logging/logs/follow`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' },
    });
    if (follow.status !== 200 || !follow.body) throw new Error(`follow answered ${follow.status}`);
    const arrivals = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    void (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      for await (const chunk of follow.body!) {
        buffered += decoder.decode(chunk, { stream: true });
        for (const match of buffered.matchAll(/"text":"handled (follow-[0-9a-f-]+)"/g)) {
          if (!arrivals.has(match[1]!)) {
            arrivals.set(match[1]!, performance.now());
            waiters.get(match[1]!)?.();
          }
        }
        buffered = buffered.slice(Math.max(0, buffered.lastIndexOf('\n\n')));
      }
    })().catch(() => undefined);
    await new Promise((done) => setTimeout(done, 500));
    const latencies: number[] = [];
    for (let i = 0; i < settings.followRuns; i++) {
      const marker = `follow-${randomUUID()}`;
      const arrived = new Promise<void>((done) => waiters.set(marker, done));
      const sent = performance.now();
      const answer = await fetch(url('logging'), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ message: marker }),
      });
      if (answer.status !== 200) throw new Error(`invoke answered ${answer.status}`);
      await Promise.race([
        arrived,
        new Promise((_, reject) => setTimeout(() => reject(new Error(`${marker} never reached the follower`)), 10_000)),
      ]);
      latencies.push(arrivals.get(marker)! - sent);
    }
    await follow.body.cancel().catch(() => undefined);

    const ratio = median(ratios);
    process.stdout.write(
      [
        '',
        `Ignite function logs benchmark: log-bench on the sandboxed runner's public route, wrk (1 thread), ${cpus().length} CPUs, load average now ${await loadAverage()}`,
        '',
        `(a) one log line per request vs none, same program, ${settings.connections} connections (medians of ${settings.rounds} rounds of ${settings.duration})`,
        `    quiet ${median(rps.quiet).toFixed(0)} req/s, logging ${median(rps.logging).toFixed(0)} req/s -> ratio ${ratio.toFixed(3)} (median of the rounds' ratios ${ratios.map((r) => r.toFixed(3)).join(', ')}; goal >= 0.9)`,
        `    ${stored} lines of the logging app stored in Postgres (every line shipped: runner, stream, API)`,
        '',
        `(b) follow latency, from just before the invocation is sent to its line at the follower (${settings.followRuns} runs)`,
        `    p50 ${percentile(latencies, 50).toFixed(1)} ms, p90 ${percentile(latencies, 90).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (goal p50 <= 200 ms)`,
        '',
      ].join('\n'),
    );
  } finally {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    }
    await prisma.org.delete({ where: { id: org.id } }).catch(() => undefined);
    await redis.del(channels.functionLogs(prefix), channels.invocations(prefix)).catch(() => undefined);
    redis.disconnect();
    await prisma.$disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

await main();
