/**
 * Benchmark of the CLI as a user meets it (run through ./run.sh, which builds the apps first). Not
 * a test: it prints figures, and fails only if something cannot run at all.
 *
 * The launchers `npm start` writes (scripts/platform/cli-launchers.mts) in a directory of the
 * bench's own; a function made with `ignite init` served by `ignite dev` (so no platform is
 * needed: the call's own cost is the CLI's and the local loop's). Each command RUNS times,
 * alternating, medians of wall time: `node -e 0` (Node's own start, the floor), `ignite --help`,
 * `ignite invoke` beside curl for the same call on the same route, and npm's `node_modules/.bin`
 * shim on the host's node (which starts a second Node when the host's is older than 24).
 *
 * With DATABASE_URL (a Postgres the bench may create a database in, as `npm test`'s): also the
 * whole platform, started as `npm start` starts it (its own database, ports and queue prefix),
 * and COMPILES builds of the same app with `draft compile`, each timed from the build's
 * `finishedAt` (when the worker recorded its final state) to the CLI's exit (goal <= 0.5 s).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const RUNS = Number(process.env.RUNS ?? 30);
const PORT = Number(process.env.PORT ?? 18797);
const COMPILES = Number(process.env.COMPILES ?? 5);

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const p90 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(0.9 * values.length))]!;

async function timed(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<{ ms: number; stdout: string }> {
  const started = process.hrtime.bigint();
  const { stdout } = await run(command, args, { env, cwd, maxBuffer: 1024 * 1024 });
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, stdout };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'ignite-cli-bench-'));
  const binDir = join(work, 'bin');
  process.env.IGNITE_CLI_BIN_DIR = binDir;
  const { installCliLaunchers } = await import(join(ROOT, 'scripts/platform/cli-launchers.mts'));
  installCliLaunchers(ROOT, { takeOver: true });
  const ignite = join(binDir, 'ignite');
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    IGNITE_CLI_CONFIG: join(work, 'no-config.json'),
    IGNITE_INVOKE_URL: `http://127.0.0.1:${PORT}`,
  };
  let dev: ChildProcess | undefined;
  try {
    await timed(ignite, ['init', 'bench-fn'], env, work);
    dev = spawn(ignite, ['dev', '--port', String(PORT)], { cwd: join(work, 'bench-fn'), env, stdio: ['ignore', 'ignore', 'pipe'] });
    let output = '';
    await new Promise<void>((ready, fail) => {
      dev!.stderr!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('serving dev-1')) ready();
        if (output.includes('build failed')) fail(new Error(output));
      });
      dev!.once('exit', (code) => fail(new Error(`ignite dev exited (${code}):\n${output}`)));
    });
    log(`ignite dev serving bench-fn; ${RUNS} runs of each command`);

    const shim = join(ROOT, 'node_modules/.bin/ignite');
    const hostNode = (process.env.PATH ?? '')
      .split(':')
      .filter((dir) => !dir.includes('/.tools/'))
      .join(':');
    const figures: Record<string, number[]> = { node: [], help: [], invoke: [], curl: [], shim: [] };
    for (let i = 0; i < RUNS; i++) {
      figures.node!.push((await timed(process.execPath, ['-e', '0'], env)).ms);
      figures.help!.push((await timed(ignite, ['--help'], env)).ms);
      const viaCli = await timed(ignite, ['invoke', 'org:bench-fn', '-p', '{"message":"hi there"}'], env);
      if (!viaCli.stdout.includes('"hi there"')) throw new Error(`ignite invoke printed ${viaCli.stdout}`);
      figures.invoke!.push(viaCli.ms);
      const viaCurl = await timed(
        'curl',
        [
          '-sS',
          '-X',
          'POST',
          '-H',
          'content-type: application/json',
          '-d',
          '{"message":"hi there"}',
          `http://127.0.0.1:${PORT}/v1/orgs/org/apps/bench-fn/invoke`,
        ],
        env,
      );
      if (!viaCurl.stdout.includes('"hi there"')) throw new Error(`curl printed ${viaCurl.stdout}`);
      figures.curl!.push(viaCurl.ms);
      figures.shim!.push((await timed(shim, ['--help'], { ...env, PATH: hostNode })).ms);
    }
    const m = (name: string) => median(figures[name]!);
    const line = (name: string, what: string) => `    ${what}: p50 ${m(name).toFixed(1)} ms, p90 ${p90(figures[name]!).toFixed(1)} ms`;
    const hostVersion = (await run('node', ['--version'], { env: { PATH: hostNode } }).catch(() => ({ stdout: 'none' }))).stdout.trim();
    console.log(
      [
        '',
        `Ignite CLI benchmark: ${RUNS} runs each, wall time, the launcher npm start writes (Node ${process.versions.node})`,
        line('node', 'node -e 0 (Node alone)'),
        line('help', 'ignite --help'),
        `    -> the CLI's own start-up ${(m('help') - m('node')).toFixed(1)} ms beyond Node's (goal <= 150 ms)`,
        line('invoke', 'ignite invoke (one call to ignite dev)'),
        line('curl', 'curl, the same call'),
        `    -> ignite invoke ${(m('invoke') - m('curl')).toFixed(1)} ms more than curl; ${(m('invoke') - m('node')).toFixed(1)} ms beyond Node's start (goal <= 150 ms)`,
        line('shim', `npm's node_modules/.bin/ignite --help on the host's node (${hostVersion})`),
        '',
      ].join('\n'),
    );
    if (process.env.DATABASE_URL) await compileLatency(work, ignite);
    else log('no DATABASE_URL: the draft compile figure needs the platform, left out');
  } finally {
    dev?.kill('SIGINT');
    await new Promise((resolveExit) => (dev && dev.exitCode === null ? dev.once('exit', resolveExit) : resolveExit(null)));
    await rm(work, { recursive: true, force: true });
  }
}

/** `draft compile`'s return after the build's final state is recorded, on a platform started as `npm start` does. */
async function compileLatency(work: string, ignite: string): Promise<void> {
  const name = `ignite_cli_bench_${randomBytes(4).toString('hex')}`;
  const databaseUrl = new URL(process.env.DATABASE_URL!);
  databaseUrl.pathname = `/${name}`;
  const apiPort = PORT + 10;
  const cliConfig = join(work, 'platform-cli.json');
  const platform = spawn('bash', [join(ROOT, 'scripts/bootstrap.sh'), 'start'], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl.toString(),
      PORT: String(apiPort),
      RUNNER_PORT: String(apiPort + 1),
      RUNNER_DIRECT_PORT: String(apiPort + 2),
      IGNITE_DATA_DIR: join(work, 'data'),
      IGNITE_CLI_CONFIG: cliConfig,
      IGNITE_CLI_BIN_DIR: join(work, 'bin'),
      IGNITE_QUEUE_PREFIX: name,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let output = '';
  platform.stderr!.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
  });
  try {
    for (let waited = 0; ; waited += 500) {
      if (platform.exitCode !== null) throw new Error(`the platform exited:\n${output}`);
      const up = await fetch(`http://127.0.0.1:${apiPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (waited > 600_000) throw new Error(`the platform did not start:\n${output}`);
      await new Promise((resolveWait) => setTimeout(resolveWait, 500));
    }
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, IGNITE_CLI_CONFIG: cliConfig };
    const folder = join(work, 'bench-fn');
    await timed(ignite, ['deploy', 'org:bench-fn', '--yes', '--quiet'], env, folder);
    const after: number[] = [];
    const walls: number[] = [];
    const builds: number[] = [];
    for (let i = 0; i < COMPILES; i++) {
      // A change, so that each compile is a build of its own.
      await appendFile(join(folder, 'src', 'lib.rs'), `\n// compile ${i}\n`);
      await timed(ignite, ['draft', 'save', 'org:bench-fn', '--code', '.'], env, folder);
      const compiled = await timed(ignite, ['--json', 'draft', 'compile', 'org:bench-fn', '--quiet'], env, folder);
      const exited = Date.now();
      const build = JSON.parse(compiled.stdout) as { finishedAt: string; buildMs: number | null; status: string };
      if (build.status !== 'succeeded') throw new Error(`the build ${build.status}`);
      after.push(exited - Date.parse(build.finishedAt));
      walls.push(compiled.ms);
      builds.push(build.buildMs ?? Number.NaN);
    }
    console.log(
      [
        `draft compile on the platform (${COMPILES} builds of an init'd function, each after a one-line change):`,
        `    the CLI's exit after the build's finishedAt: p50 ${median(after).toFixed(0)} ms, max ${Math.max(...after).toFixed(0)} ms (goal <= 500 ms)`,
        `    wall time of draft compile p50 ${(median(walls) / 1000).toFixed(2)} s; the builds' own buildMs p50 ${(median(builds) / 1000).toFixed(2)} s`,
        '',
      ].join('\n'),
    );
  } finally {
    if (platform.pid) process.kill(-platform.pid, 'SIGTERM');
    await new Promise((resolveExit) => (platform.exitCode !== null ? resolveExit(null) : platform.once('exit', resolveExit)));
    const admin = new URL(process.env.DATABASE_URL!);
    admin.pathname = '/postgres';
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await client.end();
  }
}

await main();
