/**
 * Benchmark of wasm releases served by the wasm host next to the same handler native (run through
 * ./run.sh, which builds what it needs first). Not a test: it prints figures, and fails only if
 * something cannot run at all. One sandboxed runner (the compiled apps/runner, its own process,
 * the default settings but the instance caps), apps seeded into Postgres as the API makes them,
 * the component precompiled and recorded as the compile worker does:
 *
 *  (a) warm, ROUNDS rounds of wrk (1 thread): rust-hello as a component on the runner's direct
 *      port (the connection handed to the wasm host) and through the runner's HTTP port (the
 *      runner's proxy: what the direct port did for wasm before the host took connections),
 *      against the same source native on the direct port (the connection handed to the
 *      program); c=1 p50 and c=CONNECTIONS throughput, and the ratios to native;
 *  (b) cold start of a freshly published component (a new component each run: a string of its
 *      data changed, so a new sha256 and a new precompiled file), time from the runner's receipt
 *      of the request to the answer's head (`x-ignite-duration-ms`) and the client's whole answer:
 *      - announced: the API's publish notice first, invoked ANNOUNCED_DELAY_MS later (the runner
 *        verifies the precompiled file and starts the host on the notice);
 *      - not announced: the first invocation starts the host (a sandbox standby, the host's start);
 *      - not precompiled: no file for this host's key, the runner compiles the component first;
 *  (c) the hosts' own instantiation figures (each prints them when it stops);
 *  (d) memory: IDLE_HOSTS published components, each served once, then idle: one host each (one
 *      release per host), their resident and proportional memory added up.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { channels } from '@ignite/contracts';
import { createPrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';

const run = promisify(execFile);
const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '../..');
const HOST = join(ROOT, 'apps/runner/dist/ignite-wasm-host');

const settings = {
  component: process.env.HELLO_WASM ?? '',
  program: process.env.HELLO_BIN ?? '',
  databaseUrl: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ignite',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  duration: process.env.DURATION ?? '5s',
  warmup: process.env.WARMUP ?? '2s',
  connections: Number(process.env.CONNECTIONS ?? 32),
  rounds: Number(process.env.ROUNDS ?? 3),
  coldRuns: Number(process.env.COLD_RUNS ?? 30),
  compileRuns: Number(process.env.COMPILE_RUNS ?? 5),
  announcedDelayMs: Number(process.env.ANNOUNCED_DELAY_MS ?? 200),
  idleHosts: Number(process.env.IDLE_HOSTS ?? 100),
  runnerPort: Number(process.env.RUNNER_PORT ?? 18281),
};
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

interface WrkResult {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  rps: number;
  errors: number;
}

async function wrk(url: string, connections: number, duration: string): Promise<WrkResult> {
  const { stdout } = await run(
    'wrk',
    ['-t1', `-c${connections}`, `-d${duration}`, '--timeout', '10s', '-s', join(ROOT, 'bench/runner/post.lua'), url, '--', 'single'],
    { maxBuffer: 1024 * 1024 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
  const raw = JSON.parse(line.slice('RESULT '.length));
  return {
    ...raw,
    rps: raw.requests / (raw.duration_us / 1e6),
    errors: raw.connect + raw.read + raw.write + raw.status + raw.timeout,
  };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const ms = (value: number) => `${value.toFixed(2)} ms`;
const sleep = (time: number) => new Promise((done) => setTimeout(done, time));

interface LogRecord {
  msg: string;
  functionId?: string;
  pid?: number;
  text?: string;
  startMs?: number;
  prepareMs?: number;
  readyMs?: number;
}

class RunnerProcess {
  readonly child: ChildProcess;
  readonly records: LogRecord[] = [];
  private readonly listening: Promise<void>;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [join(ROOT, 'apps/runner/dist/main.js')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = createInterface({ input: this.child.stdout! });
    this.listening = new Promise((resolveListening, reject) => {
      this.child.once('exit', (code) => reject(new Error(`the runner exited (${code})`)));
      lines.on('line', (line) => {
        let record: LogRecord;
        try {
          record = JSON.parse(line) as LogRecord;
        } catch {
          return;
        }
        if (record.msg === 'runner listening') resolveListening();
        if (record.msg === 'instance ready' || record.msg === 'wasm host') this.records.push(record);
      });
    });
  }

  whenListening(): Promise<void> {
    return this.listening;
  }

  ready(functionId: string): LogRecord[] {
    return this.records.filter((r) => r.msg === 'instance ready' && r.functionId === functionId);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** The component with its greeting's last characters replaced: the same code, another sha256 and another precompiled file. */
function variant(component: Buffer, n: number): Buffer {
  const marker = Buffer.from('from Rust!');
  const at = component.indexOf(marker);
  if (at === -1) throw new Error('rust-hello’s greeting is not in the component');
  const copy = Buffer.from(component);
  Buffer.from(`Ru${n.toString(36).padStart(4, '0')}`).copy(copy, at + 5);
  return copy;
}

/** Resident and proportional set size of a process, in KiB. */
async function memoryOf(pid: number): Promise<{ rss: number; pss: number }> {
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0);
  return { rss: field('Rss'), pss: field('Pss') };
}

async function main(): Promise<void> {
  log(`${cpus().length} CPUs, load average ${(await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ')}`);
  const dataDir = await mkdtemp(join(tmpdir(), 'ignite-bench-wasm-'));
  const prefix = `ignite-bench-wasm-${randomBytes(4).toString('hex')}`;
  const prisma = createPrismaClient(settings.databaseUrl);
  const store = new FilesystemBlobStore(join(dataDir, 'blobs'));
  const org = await prisma.org.create({ data: { slug: `bench-${randomBytes(4).toString('hex')}` } });
  const hostKey = (await run(HOST, ['cache-key'])).stdout.trim();
  const component = await readFile(settings.component);
  const recorded: string[] = [];
  let runner: RunnerProcess | null = null;
  const lines: string[] = [];
  const report = (line: string) => {
    lines.push(line);
    log(line);
  };

  /** What the compile worker does with a verified component: precompile it, store both, record the file. */
  const publishComponent = async (bytes: Buffer, precompile = true) => {
    const artifact = await store.put(bytes);
    if (precompile) {
      const input = join(dataDir, `${artifact.sha256}.wasm`);
      const output = join(dataDir, `${artifact.sha256}.cwasm`);
      await writeFile(input, bytes);
      await run(HOST, ['precompile', input, output]);
      const compiled = await store.put({ path: output });
      await prisma.precompiledComponent.upsert({
        where: { componentSha256_cacheKey: { componentSha256: artifact.sha256, cacheKey: hostKey } },
        create: { componentSha256: artifact.sha256, cacheKey: hostKey, sha256: compiled.sha256, size: compiled.size },
        update: {},
      });
      recorded.push(artifact.sha256);
      await rm(input);
      await rm(output);
    }
    return artifact;
  };
  const createApp = async (name: string, artifact: { sha256: string; size: number }, target: 'native' | 'wasm') => {
    const app = await prisma.app.create({ data: { orgId: org.id, name, rustTarget: target } });
    const build = await prisma.build.create({
      data: { appId: app.id, draftRevision: 1, sourceSha256: 'b'.repeat(64), target, status: 'succeeded' },
    });
    const release = await prisma.release.create({
      data: { appId: app.id, buildId: build.id, number: 1, target, artifactSha256: artifact.sha256, artifactSize: artifact.size },
    });
    await prisma.app.update({ where: { id: app.id }, data: { activeReleaseId: release.id } });
    return { functionId: `${org.slug}/${name}`, appId: app.id, releaseId: release.id };
  };

  try {
    report(
      `component ${component.length} bytes, native program ${(await readFile(settings.program)).length} bytes, host engine ${hostKey}`,
    );
    const wasmHello = await createApp('hello-wasm', await publishComponent(component), 'wasm');
    const nativeHello = await createApp('hello-native', await store.put(await readFile(settings.program)), 'native');

    runner = new RunnerProcess({
      PATH: process.env.PATH,
      RUNNER_PORT: String(settings.runnerPort),
      RUNNER_DIRECT_PORT: String(settings.runnerPort + 1),
      DATABASE_URL: settings.databaseUrl,
      REDIS_URL: settings.redisUrl,
      IGNITE_DATA_DIR: dataDir,
      IGNITE_QUEUE_PREFIX: prefix,
      RUNNER_MAX_INSTANCES: String(settings.idleHosts + settings.coldRuns * 3 + settings.compileRuns + 8),
      RUNNER_MAX_INSTANCES_PER_FUNCTION: '1',
      RUNNER_MAX_IN_FLIGHT_PER_INSTANCE: String(Math.max(64, settings.connections)),
      RUNNER_QUEUE_LENGTH: '2000',
      RUNNER_QUEUE_WAIT_MS: '10000',
      // A benchmark on loopback: no internal token.
      RUNNER_ALLOW_UNAUTHENTICATED: 'true',
      LOG_LEVEL: 'info',
    });
    await runner.whenListening();
    const base = `http://127.0.0.1:${settings.runnerPort}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const invoke = (functionId: string) =>
      new Promise<{ status: number; ms: number; cold: string | undefined; runnerMs: number }>((done, fail) => {
        const started = performance.now();
        const req = request(
          `${base}/v1/invoke/${functionId}`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () =>
              done({
                status: res.statusCode ?? 0,
                ms: performance.now() - started,
                cold: res.headers['x-ignite-cold'] as string | undefined,
                runnerMs: Number(res.headers['x-ignite-duration-ms']),
              }),
            );
          },
        );
        req.on('error', fail);
        req.end('{"message":"hi there"}');
      });

    // ------------------------------------------------------------ (a) warm
    for (const fn of [wasmHello, nativeHello]) {
      const first = await invoke(fn.functionId);
      if (first.status !== 200) throw new Error(`${fn.functionId} answered ${first.status}`);
    }
    const direct = `http://127.0.0.1:${settings.runnerPort + 1}`;
    const targets = {
      'wasm-direct': `${direct}/v1/invoke/${wasmHello.functionId}`,
      'wasm-proxied': `${base}/v1/invoke/${wasmHello.functionId}`,
      native: `${direct}/v1/invoke/${nativeHello.functionId}`,
    };
    type Target = keyof typeof targets;
    const names = Object.keys(targets) as Target[];
    const warm = Object.fromEntries(names.map((name) => [name, []])) as unknown as Record<
      Target,
      { p50: number; p99: number; rps1: number; rps: number }[]
    >;
    for (let round = 1; round <= settings.rounds; round++) {
      // Each round in another order: the machine's other load sways the targets alike.
      const order = round % 2 ? names : [...names].reverse();
      for (const name of order) {
        await wrk(targets[name], settings.connections, settings.warmup);
        const latency = await wrk(targets[name], 1, settings.duration);
        const load = await wrk(targets[name], settings.connections, settings.duration);
        if (latency.errors + load.errors > 0) throw new Error(`${name}: wrk saw ${latency.errors + load.errors} errors`);
        warm[name].push({ p50: latency.p50_us, p99: latency.p99_us, rps1: latency.rps, rps: load.rps });
        log(
          `(a) round ${round} ${name}: c=1 p50 ${latency.p50_us} us p99 ${latency.p99_us} us; c=${settings.connections} ${load.rps.toFixed(0)} req/s`,
        );
      }
    }
    const med = (name: Target, field: 'p50' | 'p99' | 'rps1' | 'rps') => median(warm[name].map((m) => m[field]));
    const described: Record<Target, string> = {
      'wasm-direct': 'wasm on the direct port (the connection handed to the host)',
      'wasm-proxied': "wasm through the runner's HTTP port (the runner's proxy)",
      native: 'native on the direct port',
    };
    for (const name of names) {
      report(
        `warm, ${described[name]}: c=1 ${med(name, 'rps1').toFixed(0)} req/s, p50 ${med(name, 'p50')} us (p99 ${med(name, 'p99')} us), c=${settings.connections} ${med(name, 'rps').toFixed(0)} req/s`,
      );
    }
    for (const name of ['wasm-direct', 'wasm-proxied'] as const) {
      const ratios = warm[name].map((m, i) => m.rps / warm.native[i]!.rps);
      report(
        `warm throughput ratio ${name}/native (same rounds): ${ratios.map((r) => r.toFixed(3)).join(', ')}, median ${median(ratios).toFixed(3)} (goal >= 0.5); c=1 p50 goal <= 100 us`,
      );
    }

    // ------------------------------------------------------------ (b) cold starts
    const announcer = createRedis(settings.redisUrl, { maxRetriesPerRequest: 1 });
    let serial = 0;
    const coldSeries = async (label: string, runs: number, options: { announce: boolean; precompile: boolean }) => {
      const runnerMs: number[] = [];
      const clientMs: number[] = [];
      for (let i = 0; i < runs; i++) {
        await sleep(50);
        const artifact = await publishComponent(variant(component, ++serial), options.precompile);
        const fn = await createApp(`${label}${i}`, artifact, 'wasm');
        if (options.announce) {
          const event = { appId: fn.appId, functionId: fn.functionId, releaseId: fn.releaseId, number: 1 };
          await announcer.publish(channels.releases(prefix), JSON.stringify(event));
          await sleep(settings.announcedDelayMs);
        }
        const answer = await invoke(fn.functionId);
        if (answer.status !== 200) throw new Error(`${label} run ${i}: ${answer.status}`);
        runnerMs.push(answer.runnerMs);
        clientMs.push(answer.ms);
      }
      const starts = runner!.records.filter((r) => r.msg === 'instance ready' && r.functionId?.includes(`/${label}`));
      report(
        `cold start, ${label}: runner receipt→head p50 ${ms(percentile(runnerMs, 50))} (p90 ${ms(percentile(runnerMs, 90))}), client whole answer p50 ${ms(percentile(clientMs, 50))}; host start p50 ${ms(
          percentile(
            starts.map((r) => r.startMs ?? 0),
            50,
          ),
        )} (prepare ${ms(
          percentile(
            starts.map((r) => r.prepareMs ?? 0),
            50,
          ),
        )}, spawn→ready ${ms(
          percentile(
            starts.map((r) => r.readyMs ?? 0),
            50,
          ),
        )}), ${runs} runs`,
      );
      return percentile(runnerMs, 50);
    };
    try {
      const announced = await coldSeries('announced', settings.coldRuns, { announce: true, precompile: true });
      await coldSeries('unannounced', settings.coldRuns, { announce: false, precompile: true });
      await coldSeries('compiled', settings.compileRuns, { announce: false, precompile: false });
      report(`cold start goal (announced, host already running): p50 <= 1 ms receipt→first byte, measured ${ms(announced)}`);
    } finally {
      announcer.disconnect();
    }

    // ------------------------------------------------------------ (d) idle hosts
    const idle: string[] = [];
    for (let i = 0; i < settings.idleHosts; i++) {
      const fn = await createApp(`idle${i}`, await publishComponent(variant(component, ++serial)), 'wasm');
      const answer = await invoke(fn.functionId);
      if (answer.status !== 200) throw new Error(`idle ${i}: ${answer.status}`);
      idle.push(fn.functionId);
    }
    await sleep(1000);
    const pids = idle.map((functionId) => runner!.ready(functionId).at(-1)?.pid).filter((pid): pid is number => pid !== undefined);
    const memory = await Promise.all(pids.map(memoryOf));
    const rss = memory.reduce((sum, m) => sum + m.rss, 0);
    const pss = memory.reduce((sum, m) => sum + m.pss, 0);
    report(
      `memory: ${pids.length} idle hosts (one release each, each served once): RSS ${(rss / 1024).toFixed(1)} MiB in all (${(rss / 1024 / pids.length).toFixed(1)} MiB each), PSS ${(pss / 1024).toFixed(1)} MiB in all (${(pss / 1024 / pids.length).toFixed(1)} MiB each: the host's code and the mapped files shared)`,
    );
  } finally {
    await runner?.stop();
    // (c) every host printed its instantiation figures when it stopped.
    const figures = (runner?.records ?? [])
      .filter((r) => r.msg === 'wasm host' && r.text?.startsWith('stopped; instantiation'))
      .map((r) => r.text!);
    const p50s = figures.map((text) => Number(/p50=(\d+)us/.exec(text)?.[1])).filter((n) => Number.isFinite(n));
    const count = (text: string) => Number(/n=(\d+)/.exec(text)?.[1] ?? 0);
    const warmHost = [...figures].sort((a, b) => count(b) - count(a))[0];
    if (warmHost !== undefined) report(`instantiation (the host's own figures), the warm host: ${warmHost.replace('stopped; ', '')}`);
    if (p50s.length > 0) report(`instantiation p50 over ${p50s.length} hosts: median ${median(p50s).toFixed(1)} µs`);
    await prisma.precompiledComponent.deleteMany({ where: { componentSha256: { in: recorded } } });
    await prisma.org.delete({ where: { id: org.id } });
    await prisma.$disconnect();
    await rm(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
