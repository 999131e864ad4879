/**
 * Benchmark of the public invoke path (run through ./run.sh, which builds what it needs first).
 * Not a test: it prints figures, and fails only if something cannot run at all.
 *
 * One warm instance of rust-hello (one instance per function), called four ways, each with wrk
 * (1 thread) for a latency run on one connection and a throughput run on CONNECTIONS, in ROUNDS
 * rounds whose order alternates (the figures are medians; ratios are taken per round, then their
 * median, as the machine's load drifts between rounds far more than within one):
 *
 *  - `direct`: the runner's direct port, internal route, no credentials — the ceiling;
 *  - `public`: the data plane's public route on the same port, with an API key;
 *  - `api`: the API's compatibility route (forwarded to the data plane);
 *  - `baseline`: the API of BASELINE_REF (today's, before this path existed), when built.
 *
 * Then `ignite invoke` for one call, the CLI's start included, beside curl for the same call
 * (CLI_RUNS each, median wall time).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { API_KEY_PREFIX, channels, hashApiKey } from '@ignite/contracts';
import { createPrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const HERE = import.meta.dirname;

const settings = {
  databaseUrl: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ignite',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  program: process.env.HELLO_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'sdk/ignite-rs/target'), 'release/rust-hello-bin'),
  basePort: Number(process.env.BASE_PORT ?? 18281),
  duration: process.env.DURATION ?? '5s',
  warmup: process.env.WARMUP ?? '2s',
  connections: Number(process.env.CONNECTIONS ?? 32),
  rounds: Number(process.env.ROUNDS ?? 5),
  cliRuns: Number(process.env.CLI_RUNS ?? 15),
  baselineMain: process.env.BASELINE_API_MAIN,
};

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

interface WrkResult {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  rps: number;
  errors: number;
}

async function wrk(url: string, connections: number, duration: string, key: string): Promise<WrkResult> {
  const { stdout } = await run(
    'wrk',
    ['-t1', `-c${connections}`, `-d${duration}`, '--timeout', '10s', '-s', join(HERE, 'post.lua'), url, '--', key],
    { maxBuffer: 1024 * 1024 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
  const raw = JSON.parse(line.slice('RESULT '.length)) as Omit<WrkResult, 'rps' | 'errors'>;
  return { ...raw, rps: raw.requests / (raw.duration_us / 1e6), errors: raw.connect + raw.read + raw.write + raw.status + raw.timeout };
}

/** The machine's CPU time so far (USER_HZ ticks): total, and stolen by the hypervisor. */
async function machineTicks(): Promise<{ total: number; steal: number }> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  return { total: fields.reduce((sum, n) => sum + n, 0), steal: fields[7]! };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** A platform process (runner or API) logging JSON lines; ready when `readyMessage` appears, or its URL answers. */
class Service {
  readonly child: ChildProcess;
  /** Pids of the instances the runner reported ready (host pids, the sandboxed program's own). */
  readonly instances: number[] = [];
  private readonly ready: Promise<void>;

  constructor(name: string, main: string, env: NodeJS.ProcessEnv, readyUrl: string) {
    this.child = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      try {
        const record = JSON.parse(line) as { msg?: string; pid?: number };
        if (record.msg === 'instance ready' && typeof record.pid === 'number') this.instances.push(record.pid);
      } catch {}
    });
    this.ready = new Promise((resolveReady, reject) => {
      this.child.once('exit', (code) => reject(new Error(`${name} exited (${code}):\n${output}`)));
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
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** CPU time (user + system) a process has used, in microseconds (USER_HZ is 100 on Linux). */
async function cpuMicros(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / 100) * 1e6;
}

/** Wall time of a command, ms. */
async function timed(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const { stdout } = await run(command, args, { env, maxBuffer: 1024 * 1024 });
  return { ms: performance.now() - started, stdout };
}

async function main(): Promise<void> {
  const cpuCount = cpus().length;
  const loadAverage = async () => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
  log(`${cpuCount} CPUs, load average ${await loadAverage()}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'ignite-bench-invoke-'));
  const prefix = `ignite-bench-invoke-${randomBytes(4).toString('hex')}`;
  const prisma = createPrismaClient(settings.databaseUrl);
  const store = new FilesystemBlobStore(join(dataDir, 'blobs'));
  const org = await prisma.org.create({ data: { slug: `bench-${randomBytes(4).toString('hex')}` } });
  const services: Service[] = [];
  try {
    const artifact = await store.put(await readFile(settings.program));
    const app = await prisma.app.create({ data: { orgId: org.id, name: 'hello' } });
    const build = await prisma.build.create({
      data: { appId: app.id, draftRevision: 1, sourceSha256: 'b'.repeat(64), target: 'native', status: 'succeeded' },
    });
    const release = await prisma.release.create({
      data: { appId: app.id, buildId: build.id, number: 1, target: 'native', artifactSha256: artifact.sha256, artifactSize: artifact.size },
    });
    await prisma.app.update({ where: { id: app.id }, data: { activeReleaseId: release.id } });
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
      LOG_LEVEL: 'info',
    };
    const runner = new Service(
      'runner',
      join(ROOT, 'apps/runner/dist/main.js'),
      {
        ...common,
        RUNNER_PORT: String(port),
        RUNNER_DIRECT_PORT: String(port + 1),
        // One instance serves every path: the paths are compared on the same warm instance.
        RUNNER_MAX_INSTANCES_PER_FUNCTION: '1',
        RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: String(Math.max(64, settings.connections * 2)),
        RUNNER_QUEUE_WAIT_MS: '10000',
        RUNNER_ALLOW_UNAUTHENTICATED: 'true',
      },
      `http://127.0.0.1:${port}/readyz`,
    );
    services.push(runner);
    await runner.whenReady();
    const apiEnv = { ...common, HOST: '127.0.0.1', IGNITE_BOOTSTRAP_LOCAL: 'false' };
    const api = new Service(
      'api',
      join(ROOT, 'apps/api/dist/main.js'),
      { ...apiEnv, PORT: String(port + 2), RUNNER_DIRECT_URL: `http://127.0.0.1:${port + 1}` },
      `http://127.0.0.1:${port + 2}/readyz`,
    );
    services.push(api);
    let baseline: Service | null = null;
    if (settings.baselineMain !== undefined) {
      baseline = new Service(
        'baseline api',
        settings.baselineMain,
        { ...apiEnv, PORT: String(port + 3), RUNNER_URL: `http://127.0.0.1:${port}` },
        `http://127.0.0.1:${port + 3}/readyz`,
      );
      services.push(baseline);
    }
    await Promise.all(services.map((service) => service.whenReady()));
    log(`runner, API${baseline === null ? '' : ' and baseline API'} ready; org ${org.slug}`);

    type Target = 'direct' | 'public' | 'api' | 'baseline';
    const functionPath = `/v1/orgs/${org.slug}/apps/hello/invoke`;
    const targets: Partial<Record<Target, { url: string; key: string }>> = {
      direct: { url: `http://127.0.0.1:${port + 1}/v1/invoke/${org.slug}/hello`, key: '' },
      public: { url: `http://127.0.0.1:${port + 1}${functionPath}`, key },
      api: { url: `http://127.0.0.1:${port + 2}${functionPath}`, key },
    };
    if (baseline !== null) targets.baseline = { url: `http://127.0.0.1:${port + 3}${functionPath}`, key };
    const names = Object.keys(targets) as Target[];
    for (const name of names) {
      const probe = await fetch(targets[name]!.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(targets[name]!.key ? { authorization: `Bearer ${targets[name]!.key}` } : {}) },
        body: '{"message":"hi there"}',
      });
      if (probe.status !== 200) throw new Error(`${name} answered ${probe.status}: ${await probe.text()}`);
    }

    interface Measured {
      p50: number;
      p99: number;
      rps: number;
      /** CPU of the program and the runner per request of the throughput run, µs. */
      cpu: number;
    }
    const program = runner.instances[0];
    if (program === undefined) throw new Error('the runner reported no instance');
    const cpuOf = async () => (await cpuMicros(program)) + (await cpuMicros(runner.child.pid!));
    // The API records every invocation (the runner reports them on a stream): before each target
    // the backlog of the one before is left to drain, so that its recording does not land on the
    // next measurement; how fast it drains is a figure of its own.
    const redis = createRedis(settings.redisUrl, { maxRetriesPerRequest: 1 });
    const stream = channels.invocations(prefix);
    const recorded: { reports: number; ms: number }[] = [];
    const drain = async () => {
      const started = performance.now();
      const before = await prisma.invocation.count({ where: { appId: app.id } });
      for (;;) {
        const groups = (await redis.call('XINFO', 'GROUPS', stream).catch(() => [])) as unknown[][];
        const group = groups.map((fields) => Object.fromEntries(fields.flatMap((v, i) => (i % 2 ? [] : [[v, fields[i + 1]]]))))[0];
        if (group === undefined || (Number(group.lag) === 0 && Number(group.pending) === 0)) break;
        if (performance.now() - started > 60_000) break;
        await new Promise((done) => setTimeout(done, 200));
      }
      const after = await prisma.invocation.count({ where: { appId: app.id } });
      if (after > before) recorded.push({ reports: after - before, ms: performance.now() - started });
    };
    const rounds: { measured: Partial<Record<Target, Measured>>; steal: number }[] = [];
    for (let round = 1; round <= settings.rounds; round++) {
      const order = round % 2 ? names : [...names].reverse();
      const measured: Partial<Record<Target, Measured>> = {};
      const before = await machineTicks();
      for (const name of order) {
        const { url, key: credential } = targets[name]!;
        await drain();
        // The baseline is slow: a short warm-up is plenty.
        await wrk(url, settings.connections, name === 'baseline' ? '1s' : settings.warmup, credential);
        const latency = await wrk(url, 1, settings.duration, credential);
        const cpuBefore = await cpuOf();
        const load = await wrk(url, settings.connections, settings.duration, credential);
        const cpu = ((await cpuOf()) - cpuBefore) / load.requests;
        if (latency.errors + load.errors > 0) throw new Error(`${name}: wrk saw ${latency.errors + load.errors} errors`);
        measured[name] = { p50: latency.p50_us, p99: latency.p99_us, rps: load.rps, cpu };
        log(
          `round ${round} ${name}: c=1 p50 ${latency.p50_us} us p99 ${latency.p99_us} us; c=${settings.connections} ${load.rps.toFixed(0)} req/s, ${cpu.toFixed(1)} us CPU/request (program + runner)`,
        );
      }
      const after = await machineTicks();
      rounds.push({ measured, steal: after.total > before.total ? (after.steal - before.steal) / (after.total - before.total) : 0 });
    }
    await drain();
    redis.disconnect();
    const figure = (name: Target, field: keyof Measured) => median(rounds.map((r) => r.measured[name]![field]));
    const ratio = (name: Target, to: Target) => median(rounds.map((r) => r.measured[name]!.rps / r.measured[to]!.rps));
    const added = (name: Target) => median(rounds.map((r) => r.measured[name]!.p50 - r.measured.direct!.p50));

    // `ignite invoke`, CLI start included, beside curl: one call each, CLI_RUNS times.
    const cliConfig = join(dataDir, 'cli-config.json');
    await writeFile(
      cliConfig,
      JSON.stringify({ url: `http://127.0.0.1:${port + 2}`, org: org.slug, key, invokeUrl: `http://127.0.0.1:${port + 1}` }),
    );
    const cliEnv = { PATH: process.env.PATH, HOME: process.env.HOME, IGNITE_CLI_CONFIG: cliConfig };
    const cli: number[] = [];
    const curl: number[] = [];
    for (let i = 0; i < settings.cliRuns; i++) {
      const viaCli = await timed(
        join(ROOT, 'node_modules/.bin/ignite'),
        ['invoke', `${org.slug}:hello`, '-p', '{"message":"hi there"}'],
        cliEnv,
      );
      if (!viaCli.stdout.includes('"hi there"')) throw new Error(`ignite invoke printed ${viaCli.stdout}`);
      cli.push(viaCli.ms);
      const viaCurl = await timed(
        'curl',
        [
          '-sS',
          '-X',
          'POST',
          '-H',
          `authorization: Bearer ${key}`,
          '-H',
          'content-type: application/json',
          '-d',
          '{"message":"hi there"}',
          targets.public!.url,
        ],
        cliEnv,
      );
      if (!viaCurl.stdout.includes('"hi there"')) throw new Error(`curl printed ${viaCurl.stdout}`);
      curl.push(viaCurl.ms);
    }
    const nodeStart: number[] = [];
    for (let i = 0; i < settings.cliRuns; i++) nodeStart.push((await timed(process.execPath, ['-e', '0'], cliEnv)).ms);

    const steals = rounds.map((r) => `${(r.steal * 100).toFixed(1)}%`).join(', ');
    const c = settings.connections;
    const out = [
      '',
      `Ignite invoke benchmark: rust-hello, one warm sandboxed instance, wrk (1 thread), ${cpuCount} CPUs, load average now ${await loadAverage()}`,
      `(medians of ${rounds.length} rounds of ${settings.duration}; CPU stolen by the hypervisor per round: ${steals})`,
      '',
      `  path                                         c=1 p50     c=1 p99     c=${c} throughput`,
      ...names.map((name) => {
        const label = {
          direct: "runner's direct port, internal (the ceiling)",
          public: 'data plane, public route + API key',
          api: "API's route (compatibility)",
          baseline: `API's route before (${process.env.BASELINE_REF || '8d59367'})`,
        }[name];
        return `  ${label.padEnd(44)} ${`${figure(name, 'p50')} us`.padStart(9)}   ${`${figure(name, 'p99')} us`.padStart(9)}   ${figure(name, 'rps').toFixed(0).padStart(8)} req/s`;
      }),
      '',
      `  public route vs the ceiling: added p50 ${added('public').toFixed(0)} us on 1 connection (goal <= 20 us); throughput ratio ${ratio('public', 'direct').toFixed(3)} on ${c} (goal >= 0.9; the rounds' ratios: ${rounds.map((r) => (r.measured.public!.rps / r.measured.direct!.rps).toFixed(2)).join(', ')})`,
      `  CPU per request, program + runner: ceiling ${figure('direct', 'cpu').toFixed(1)} us, public route ${figure('public', 'cpu').toFixed(1)} us -> efficiency ${median(rounds.map((r) => r.measured.direct!.cpu / r.measured.public!.cpu)).toFixed(3)} (what the throughput ratio would be with the CPU to itself)`,
      `  API's route: ${figure('api', 'rps').toFixed(0)} req/s on ${c} connections (ratio to the ceiling ${ratio('api', 'direct').toFixed(3)}); added p50 ${added('api').toFixed(0)} us`,
      targets.baseline
        ? `  API's route before: ${figure('baseline', 'rps').toFixed(0)} req/s on ${c} connections, p50 ${figure('baseline', 'p50')} us on 1 -> now ${ratio('api', 'baseline').toFixed(1)}x the throughput (goal >= 10x)`
        : "  API's route before: not measured (BASELINE_REF empty)",
      '',
      `  recording: the API drained backlogs of ${recorded.map((r) => r.reports).reduce((a, b) => a + b, 0)} invocation records at a median ${median(recorded.map((r) => r.reports / (r.ms / 1000))).toFixed(0)} records/s (a backlog drains from when its load stops: a lower bound)`,
      `  one call, process start included (${settings.cliRuns} runs, median wall time): ignite invoke ${median(cli).toFixed(1)} ms, curl ${median(curl).toFixed(1)} ms (node -e 0 alone: ${median(nodeStart).toFixed(1)} ms)`,
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    await Promise.all(services.map((service) => service.stop().catch(() => undefined)));
    await prisma.org.delete({ where: { id: org.id } }).catch(() => {});
    await prisma.$disconnect();
    const redis = createRedis(settings.redisUrl, { maxRetriesPerRequest: 1 });
    await redis.del(channels.invocations(prefix)).catch(() => {});
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
