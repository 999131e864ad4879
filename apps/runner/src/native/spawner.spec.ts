import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@ignite/testing';
import pino from 'pino';
import { DEFAULT_LAUNCHER, prepareSandboxes, releaseSandboxes } from './sandbox';
import { type ProgramSpec, type SpawnedProgram, Spawner } from './spawner';
import type { SandboxLimits, SandboxOptions } from './spawner-protocol';

const DASH = '/bin/dash';
const PRLIMIT = '/usr/bin/prlimit';
const canRun = existsSync(DASH) && existsSync(PRLIMIT);
const maybe = canRun ? describe : describe.skip;
if (!canRun) console.warn(`spawner.spec: skipped, it needs ${DASH} and ${PRLIMIT} (Debian's dash and util-linux)`);

/** Writes its environment, limits and directory where OUT says, then says it is ready and waits. */
const REPORTER = [
  'cat /proc/$$/environ > "$OUT/environ"',
  'cat /proc/$$/limits > "$OUT/limits"',
  'pwd -P > "$OUT/cwd"',
  'echo ready >&3',
  'exec sleep 60',
].join('\n');

/** Values a shell script could get wrong: quotes, newlines, expansions, backslashes. */
const AWKWARD = `it's "quoted" $(echo no) \`echo no\` $HOME \\n\\\\ ; exec false
second line\t'' end`;

const ADDRESS_SPACE = 900 * 1024 * 1024;

/** A change to the reporter's spec; `unlimited`: without resource limits. */
type StartSpec = Partial<ProgramSpec> & { unlimited?: boolean };

function readiness(program: SpawnedProgram): Promise<string> {
  return new Promise((resolve) => {
    const check = () => {
      if (program.readiness !== 'waiting') resolve(program.readiness);
    };
    program.onReadiness = check;
    void program.exited.then(() => resolve('exited'));
    check();
  });
}

function environOf(raw: Buffer): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of raw.toString('utf8').split('\0')) {
    if (entry === '') continue;
    const at = entry.indexOf('=');
    env[entry.slice(0, at)] = entry.slice(at + 1);
  }
  return env;
}

/** Soft and hard limit of one line of /proc/<pid>/limits. */
function limitOf(limits: string, name: string): [string, string] {
  const line = limits.split('\n').find((l) => l.startsWith(name));
  if (line === undefined) throw new Error(`no ${name} in ${limits}`);
  const [soft, hard] = line.slice(name.length).trim().split(/\s+/);
  return [soft ?? '', hard ?? ''];
}

maybe('Spawner', () => {
  let spawner: Spawner;
  let dir: string;
  const running: SpawnedProgram[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ignite-spawner-'));
    spawner = new Spawner(pino({ level: 'silent' }), { prlimitPath: PRLIMIT, standbyShell: DASH, sandbox: null });
    await spawner.start();
  });

  afterEach(async () => {
    for (const program of running.splice(0)) {
      program.signal('SIGKILL');
      await program.exited;
    }
  });

  afterAll(async () => {
    await spawner.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts the reporter with its own OUT directory (`spec` amends the spec, `extraEnv` its environment). */
  async function run(
    name: string,
    spec: StartSpec = {},
    extraEnv: Record<string, string> = {},
  ): Promise<{ program: SpawnedProgram; out: string }> {
    const { unlimited = false, ...amended } = spec;
    const out = join(dir, name);
    await mkdir(out);
    const program = spawner.spawn({
      command: '/bin/sh',
      args: ['-c', REPORTER],
      env: { OUT: out, PATH: '/usr/bin:/bin', AWKWARD, EMPTY: '', ...extraEnv },
      cwd: out,
      readyFd: 3,
      ...(unlimited ? {} : { limits: { addressSpaceBytes: ADDRESS_SPACE } }),
      ...amended,
    });
    running.push(program);
    expect(await readiness(program)).toBe('ready');
    return { program, out };
  }

  /** Starts programs until one comes from a standby (the helper forks it a moment after a start). */
  async function runFromStandby(
    name: string,
    spec: StartSpec = {},
    extraEnv: Record<string, string> = {},
  ): Promise<{ program: SpawnedProgram; out: string }> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const started = await run(`${name}-${attempt}`, spec, extraEnv);
      if (started.program.fromStandby) return started;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('no start came from a standby');
  }

  /** The helper's standby shells waiting for a script (children of the helper running the shell, with nothing exec'd yet). */
  function standbyShells(): number[] {
    const helperPid = (spawner as unknown as { helper: { pid: number } }).helper.pid;
    return readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return parent === helperPid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(`${DASH}\0-s`);
        } catch {
          return false;
        }
      })
      .map(Number);
  }

  async function expectStartedAsAsked(out: string, extraEnv: Record<string, string> = {}): Promise<void> {
    const environ = environOf(await readFile(join(out, 'environ')));
    expect(environ).toEqual({ OUT: out, PATH: '/usr/bin:/bin', AWKWARD, EMPTY: '', ...extraEnv });
    const limits = await readFile(join(out, 'limits'), 'utf8');
    expect(limitOf(limits, 'Max address space')).toEqual([String(ADDRESS_SPACE), String(ADDRESS_SPACE)]);
    expect(limitOf(limits, 'Max core file size')).toEqual(['0', '0']);
    expect((await readFile(join(out, 'cwd'), 'utf8')).trim()).toBe(out);
  }

  it('starts a program from a standby shell with exactly its environment, limits and directory, as a fork does', async () => {
    const forked = await run('forked');
    expect(forked.program.fromStandby).toBe(false);
    await expectStartedAsAsked(forked.out);

    const fromStandby = await runFromStandby('standby');
    await expectStartedAsAsked(fromStandby.out);
    // The standby became the program: its pid is the program's.
    expect((await readFile(join(fromStandby.out, 'environ'))).length).toBeGreaterThan(0);
    expect(existsSync(`/proc/${fromStandby.program.pid}`)).toBe(true);
  });

  it('keeps a standby per descriptor layout: programs with a channel get it, and its variables', async () => {
    // An app's own NODE_CHANNEL_FD does not take the channel's place.
    const started = await runFromStandby('channel', { channel: true }, { NODE_CHANNEL_FD: '9' });
    const environ = environOf(await readFile(join(started.out, 'environ')));
    expect(environ.NODE_CHANNEL_FD).toBe('4');
    expect(environ.NODE_CHANNEL_SERIALIZATION_MODE).toBe('json');
    expect(environ.AWKWARD).toBe(AWKWARD);
  });

  it('without limits a program gets none (no prlimit, no ulimit)', async () => {
    const started = await runFromStandby('unlimited', { unlimited: true });
    const limits = await readFile(join(started.out, 'limits'), 'utf8');
    expect(limitOf(limits, 'Max address space')).toEqual(['unlimited', 'unlimited']);
  });

  it('a standby that dies unused is replaced: the next start forks, the one after has a standby again', async () => {
    await runFromStandby('before-kill');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One per layout started so far (with a channel, and without).
    const shells = standbyShells();
    expect(shells.length).toBeGreaterThanOrEqual(1);
    for (const pid of shells) process.kill(pid, 'SIGKILL');
    await waitFor(() => (standbyShells().length === 0 ? true : undefined));
    const forked = await run('after-kill');
    expect(forked.program.fromStandby).toBe(false);
    await expectStartedAsAsked(forked.out);
    await runFromStandby('standby-again');
  });

  it('a program that is not there fails to start with its error, standby or not', async () => {
    await runFromStandby('warm-up');
    // The layout's next standby is forked a moment after that start.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const program = spawner.spawn({ command: join(dir, 'missing'), args: [], env: {}, cwd: dir, readyFd: 3 });
    const status = await program.exited;
    expect(status.spawnError?.code).toBe('ENOENT');
    expect(program.fromStandby).toBe(false);
    // The standby is left for the next start.
    const next = await run('after-missing');
    expect(next.program.fromStandby).toBe(true);
  });

  it('drops a message line longer than the runner reads, and reads the lines after it', async () => {
    const program = spawner.spawn({
      command: '/bin/sh',
      args: ['-c', 'head -c 5000000 /dev/zero | tr "\\0" x >&5; printf "\\n{\\"after\\":1}\\n" >&5; echo ready >&3; exec sleep 30'],
      env: { PATH: '/usr/bin:/bin' },
      cwd: dir,
      readyFd: 3,
      channel: true,
    });
    running.push(program);
    const lines: string[] = [];
    let oversized = 0;
    program.onMessage = (line) => lines.push(line.toString());
    program.onOversizedMessage = () => oversized++;
    expect(await readiness(program)).toBe('ready');
    await waitFor(() => (lines.length > 0 ? true : undefined));
    expect({ lines, oversized }).toEqual({ lines: ['{"after":1}'], oversized: 1 });
  });

  it('closes, and its helper exits, whenever it is closed after a start (standby pipes in flight or not)', async () => {
    // A standby is forked 20 ms after a start and its pipes sent to the runner: closing around
    // then once left the helper waiting for acknowledgements that never came.
    for (let delayMs = 0; delayMs <= 30; delayMs += 2) {
      const own = new Spawner(pino({ level: 'silent' }), { prlimitPath: PRLIMIT, standbyShell: DASH, sandbox: null });
      await own.start();
      const helperPid = (own as unknown as { helper: { pid: number } }).helper.pid;
      const program = own.spawn({
        command: '/bin/sh',
        args: ['-c', 'echo ready >&3; exec sleep 30'],
        env: {},
        cwd: dir,
        readyFd: 3,
        channel: true,
      });
      expect(await readiness(program)).toBe('ready');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const closed = await Promise.race([
        own.close().then(() => 'closed'),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000)),
      ]);
      expect({ delayMs, closed }).toEqual({ delayMs, closed: 'closed' });
      expect(existsSync(`/proc/${helperPid}`)).toBe(false);
      await program.exited;
    }
  }, 120_000);
});

describe('Spawner with sandboxes', () => {
  let spawner: Spawner;
  let dataDir: string;
  let sandbox: SandboxOptions;
  const running: SpawnedProgram[] = [];
  const root = process.getuid?.() === 0;

  beforeAll(async () => {
    if (!existsSync(DEFAULT_LAUNCHER)) throw new Error(`the sandbox launcher is not built (${DEFAULT_LAUNCHER}): npm test builds it`);
    dataDir = await mkdtemp(join(tmpdir(), 'ignite-sandboxes-'));
    sandbox = prepareSandboxes(
      {
        launcher: DEFAULT_LAUNCHER,
        dataDir,
        uidBase: 310_000,
        uidCount: 1_000,
        standbys: 2,
        tmpMb: 8,
        scratchMb: 8,
        // The shared libraries, and /usr/bin for the scripts' `sleep`.
        readOnly: ['/lib', '/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib64', '/usr/bin'],
        cgroups: 'auto',
      },
      pino({ level: 'silent' }),
    );
    spawner = new Spawner(pino({ level: 'silent' }), { prlimitPath: null, standbyShell: null, sandbox });
    await spawner.start();
  });

  afterEach(async () => {
    for (const program of running.splice(0)) {
      program.signal('SIGKILL');
      await program.exited;
    }
  });

  afterAll(async () => {
    await spawner.close();
    releaseSandboxes(sandbox);
    await rm(dataDir, { recursive: true, force: true });
  });

  const LIMITS: SandboxLimits = {
    memoryBytes: 64 * 1024 * 1024,
    addressSpaceBytes: null,
    processes: 32,
    openFiles: 128,
    fileSizeBytes: 1024 * 1024,
  };

  /** dash (its libraries are in the sandbox's view) running `script`, its stderr collected. */
  function start(script: string, env: Record<string, string> = {}, channel = false): { program: SpawnedProgram; said: () => string } {
    let said = '';
    const program = spawner.spawn({
      command: DASH,
      args: ['-c', script],
      env: { PATH: '/usr/bin', ...env },
      cwd: '/scratch',
      readyFd: 3,
      channel,
      sandbox: { files: [], limits: LIMITS },
    });
    program.onStderr = (chunk) => {
      said += chunk.toString();
    };
    running.push(program);
    return { program, said: () => said };
  }

  /** `/proc/<pid>/status`'s field `name` (the host's view of the program). */
  function statusOf(pid: number, name: string): string {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${name}:`));
    return line?.slice(name.length + 1).trim() ?? '';
  }

  it('starts a program with exactly its environment (and the channel it holds), from a sandbox made ahead', async () => {
    const { program, said } = start('export -p >&2; echo ready >&3; exec sleep 30', { GREETING: AWKWARD }, true);
    expect(await readiness(program)).toBe('ready');
    await waitFor(() => (said().includes('NODE_CHANNEL_FD') ? true : undefined));
    const exported = said()
      .split('\n')
      .filter((line) => line.startsWith('export '))
      .map((line) => line.slice('export '.length).split('=')[0]);
    // dash adds PWD; nothing of the runner's or the helper's environment is there.
    expect(exported.sort()).toEqual(['GREETING', 'NODE_CHANNEL_FD', 'NODE_CHANNEL_SERIALIZATION_MODE', 'PATH', 'PWD']);
    expect(program.fromStandby).toBe(true);
    expect(program.listener).toMatch(new RegExp(`^${sandbox.socketsDir}/\\d+\\.sock$`));
    expect(existsSync(program.listener as string)).toBe(true);
  });

  it('maps each sandbox to a host uid of its own, never the runner’s', async () => {
    const a = start('echo ready >&3; exec sleep 30');
    const b = start('echo ready >&3; exec sleep 30');
    expect(await readiness(a.program)).toBe('ready');
    expect(await readiness(b.program)).toBe('ready');
    const uid = (program: SpawnedProgram) => Number(statusOf(program.pid as number, 'Uid').split(/\s+/)[0]);
    if (root) {
      expect(uid(a.program)).toBeGreaterThanOrEqual(310_000);
      expect(uid(b.program)).toBeGreaterThanOrEqual(310_000);
      expect(uid(a.program)).not.toBe(uid(b.program));
    } else {
      expect(uid(a.program)).toBe(process.getuid?.());
    }
    expect(statusOf(a.program.pid as number, 'NoNewPrivs')).toBe('1');
    expect(statusOf(a.program.pid as number, 'Seccomp')).toBe('2');
    expect(statusOf(a.program.pid as number, 'CapEff')).toBe('0000000000000000');
  });

  it('ends as the program ended: its exit code, or the signal that killed it (its own abort included)', async () => {
    const exited = start('exit 7');
    expect(await exited.program.exited).toMatchObject({ code: 7, signal: null });
    const killed = start('kill -ABRT $$; sleep 5');
    expect(await killed.program.exited).toMatchObject({ code: null, signal: 'SIGABRT' });
  });

  it('limits the whole instance: processes, open files, file size; its listener and cgroup go with it', async () => {
    const { program, said } = start('ulimit -p >&2; ulimit -n >&2; ulimit -f >&2; echo ready >&3; exec sleep 30');
    expect(await readiness(program)).toBe('ready');
    await waitFor(() => (said().includes('\n') ? true : undefined));
    // dash's ulimit: processes (RLIMIT_NPROC), open files, file size in 512-byte blocks.
    expect(said()).toContain(`${LIMITS.processes}\n${LIMITS.openFiles}\n${LIMITS.fileSizeBytes / 512}`);
    const listener = program.listener as string;
    const cgroups = readdirSync(sandbox.cgroup?.version === 1 ? (sandbox.cgroup.memory as string) : '/nonexistent', {
      withFileTypes: true,
    }).filter((entry) => entry.isDirectory());
    if (sandbox.cgroup !== null) expect(cgroups.length).toBeGreaterThan(0);
    program.signal('SIGKILL');
    await program.exited;
    await waitFor(() => (!existsSync(listener) ? true : undefined));
  });

  it('says when the kernel killed in its cgroup for memory', async () => {
    if (sandbox.cgroup === null) throw new Error('this host gives the runner no cgroup hierarchy: the memory limit cannot be tested here');
    // dash's arithmetic grows a variable until the cgroup's 64 MiB are used up.
    const { program } = start('x=y; while :; do x=$x$x; done');
    const status = await program.exited;
    expect(status).toMatchObject({ signal: 'SIGKILL', outOfMemory: true });
  });
});
