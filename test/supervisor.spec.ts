import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, waitFor } from '@ignite/testing';

// `npm start`'s supervisor (scripts/platform/supervisor.mts) over real processes: parts that
// write their pid to a file and wait, one that crashes at once.
const dir = mkdtempSync(join(tmpdir(), 'ignite-supervisor-'));
const PART = join(dir, 'part.cjs');
writeFileSync(
  PART,
  `const { writeFileSync } = require('node:fs');
const [name, mode] = process.argv.slice(2);
if (mode === 'crash') { process.stderr.write(name + ': cannot start (configuration is wrong)\\n'); process.exit(3); }
writeFileSync(${JSON.stringify(dir)} + '/' + name + '.pid', String(process.pid));
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`,
);

const node = process.execPath;
const supervisorUrl = `file://${join(repoRoot, 'scripts', 'platform', 'supervisor.mts')}`;

/** A supervisor of `parts` (name, mode), as `npm start` runs one; `viaShell`: under `sh -c`, as npm runs it. */
function startSupervisor(parts: [string, string][], viaShell = false): { process: ChildProcess; output: () => string } {
  const script = `import { supervise } from ${JSON.stringify(supervisorUrl)};
const parts = ${JSON.stringify(parts)}.map(([name, mode]) => ({ name, command: ${JSON.stringify(node)}, args: [${JSON.stringify(PART)}, name, mode] }));
supervise(parts, { env: process.env, cwd: ${JSON.stringify(dir)}, maxCrashes: 3, crashWindowMs: 10000, restartDelayMs: 50, maxRestartDelayMs: 200, stopGraceMs: 2000, tailLines: 5 }).then((code) => process.exit(code));`;
  const file = join(dir, `supervisor-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, script);
  const command = viaShell
    ? ['sh', ['-c', `${node} --disable-warning=ExperimentalWarning ${file}; true`]]
    : [node, ['--disable-warning=ExperimentalWarning', file]];
  const child = spawn(command[0] as string, command[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { process: child, output: () => output };
}

const pidOf = (name: string) => {
  try {
    return Number(readFileSync(join(dir, `${name}.pid`), 'utf8'));
  } catch {
    return 0;
  }
};
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm start’s supervisor', () => {
  it('restarts a part killed with SIGKILL, saying why, while the others keep running; SIGTERM stops them all', async () => {
    const supervisor = startSupervisor([
      ['api', 'serve'],
      ['runner', 'serve'],
    ]);
    const api = await waitFor(() => pidOf('api') || undefined, 10_000, 'the api part');
    const runner = await waitFor(() => pidOf('runner') || undefined, 10_000, 'the runner part');
    process.kill(runner, 'SIGKILL');
    const restarted = await waitFor(
      () => (pidOf('runner') !== runner && pidOf('runner') ? pidOf('runner') : undefined),
      10_000,
      'the runner restarted',
    );
    expect(alive(restarted)).toBe(true);
    expect(alive(api)).toBe(true);
    expect(pidOf('api')).toBe(api);
    expect(supervisor.output()).toMatch(/runner exited \(SIGKILL\); restarting it in \d+ ms/);

    const exited = new Promise((resolve) => supervisor.process.once('exit', resolve));
    supervisor.process.kill('SIGTERM');
    await exited;
    await waitFor(() => (!alive(api) && !alive(restarted) ? true : undefined), 5_000, 'every part to stop');
  });

  it('gives up on a part that crash-loops, with its last lines, and keeps the rest up', async () => {
    const supervisor = startSupervisor([
      ['worker', 'crash'],
      ['steady', 'serve'],
    ]);
    const steady = await waitFor(() => pidOf('steady') || undefined, 10_000, 'the steady part');
    await waitFor(() => (/worker exited 3 times/.test(supervisor.output()) ? true : undefined), 10_000, 'the crash loop to be reported');
    expect(supervisor.output()).toContain('worker: cannot start (configuration is wrong)');
    expect(alive(steady)).toBe(true);
    const exited = new Promise((resolve) => supervisor.process.once('exit', resolve));
    supervisor.process.kill('SIGINT');
    await exited;
    await waitFor(() => (!alive(steady) ? true : undefined), 5_000, 'the steady part to stop');
  });

  it('stops every part when the shell it runs under is killed (as npm kills its sh -c)', async () => {
    const supervisor = startSupervisor([['orphan', 'serve']], true);
    const orphan = await waitFor(() => pidOf('orphan') || undefined, 10_000, 'the part');
    supervisor.process.kill('SIGKILL');
    await waitFor(() => (!alive(orphan) ? true : undefined), 10_000, 'the part to stop with its supervisor’s shell gone');
  });
});
