/**
 * The runner's spawn helper: a small process (node built-ins only, so forking it is cheap)
 * that starts the programs for the runner, hands each one's pipes (stderr, the ready descriptor,
 * the message pipe) over to the runner, which reads them itself, and reports exits over its IPC
 * channel (protocol: `spawner-protocol.ts`).
 * CommonJS TypeScript that Node runs as is (type stripping) under the tests, and compiled to
 * `spawner-main.cjs` for the built runner.
 *
 * A start is the cold path's largest fixed cost: a fork of this Node process (≈1 ms, its page
 * tables) and, for the limits, an exec of `prlimit` before the program's own. So for each layout
 * of descriptors it has started a program with, the helper keeps a standby: a shell (dash,
 * `standbyShell`) already forked with that layout's pipes, waiting on its stdin. A start writes it
 * a script — `ulimit`, `cd`, `export` each variable, `exec` the program — and the program runs in
 * the standby's process, pipes and all (the runner has held them since the standby was forked);
 * a new standby is forked a moment later, off the start's path. A start that finds no standby
 * (the first of its layout, or one right behind another) forks as before.
 *
 * With `sandbox` (the default), a standby is the sandbox launcher (`ignite-sandbox`, see
 * apps/runner/sandbox) instead: it builds a sandbox of its own — namespaces, filesystem view,
 * cgroup, an unprivileged uid — and waits for its program, which the start request (one JSON line
 * on its stdin) names. Every sandboxed start takes such a standby (one made on the spot when none
 * is ready); the helper keeps `standbys` of them per layout, gives each its own host uid, cgroup
 * and listener socket, and removes those when the sandbox is gone.
 *
 * If the runner goes away (the channel closes), every program is killed and the helper exits: a
 * crashed runner leaves nothing running.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type {
  FromHelper,
  HandoffRequest,
  HelperOptions,
  ProgramPipe,
  SandboxOptions,
  SpawnRequest,
  ToHelper,
} from './spawner-protocol';

const { spawn } = require('node:child_process') as typeof import('node:child_process');
const { accessSync, constants, readFileSync, rmdirSync, unlinkSync } = require('node:fs') as typeof import('node:fs');
const { join } = require('node:path') as typeof import('node:path');

const options: HelperOptions = { prlimitPath: null, standbyShell: null, sandbox: null, ...JSON.parse(process.argv[2] ?? '{}') };

/** The programs running, by the runner's id (until they are gone). */
const children = new Map<number, ChildProcess>();
/**
 * A process waiting for what to become on stdin — a shell for its script, or a sandbox launcher
 * for its start request — and the number the runner knows its pipes by.
 */
interface Standby {
  process: ChildProcess;
  number: number;
  /** Its sandbox's own uid, cgroup and listener (a launcher). */
  sandbox: SandboxResources | null;
  /** Called with the program's host pid once the launcher started it. */
  onStarted: (pid: number) => void;
}

/** What the helper gave one sandbox, and takes back when it is gone. */
interface SandboxResources {
  uid: number | null;
  listener: string;
  cgroups: string[];
  /** The file whose `oom_kill` count says whether the kernel killed in it for memory. */
  oomEvents: string | null;
}

/** Standbys by descriptor layout (`layoutOf`), oldest first. */
const standbys = new Map<string, Standby[]>();
let standbysForked = 0;
/** Host uids of the sandboxes alive (see `allocateUid`). */
const uidsInUse = new Set<number>();
let uidCursor = 0;
/** The program's message pipe (direct connections). */
const MESSAGES_FD = 5;
/** What a standby's script may `export`: anything else (never from the runner) goes the fork's way. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * How long after a start its layout's next standby is forked: the program is usually up by then
 * and its first connection handed over, so the fork (which holds this loop) delays neither.
 */
const STANDBY_DELAY_MS = 20;
/** How often the channel to the runner is checked (see `runnerGone`). */
const CHANNEL_CHECK_MS = 500;

function send(message: FromHelper, handle?: Readable, sent?: () => void): void {
  if (!process.connected) {
    sent?.();
    return;
  }
  // biome-ignore lint/suspicious/noExplicitAny: a pipe's net.Socket is a valid handle to send; Node's typings name only a few classes.
  process.send?.(message, handle as any, {}, () => sent?.());
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** Stops the helper reading a pipe, so that nothing the program writes lands here before the runner has the pipe. */
function holdReading(stream: Readable | null | undefined): void {
  const handle = (stream as unknown as { _handle?: { readStop?: () => number; reading?: boolean } } | null)?._handle;
  if (handle?.readStop === undefined) throw new Error('this Node cannot pause a pipe before handing it over');
  handle.readStop();
  handle.reading = false;
}

function layoutOf(readyFd: number, channel: boolean): string {
  return `${readyFd}:${channel}`;
}

/** Descriptors 0–2, pipes up to the ready descriptor, then the channel (4) and the message pipe (5). */
function stdioOf(readyFd: number, channel: boolean, stdin: 'ignore' | 'pipe', stdout: 'ignore' | 'pipe' = 'ignore'): StdioOptions {
  const stdio: ('ignore' | 'pipe' | 'ipc')[] = [stdin, stdout, 'pipe'];
  while (stdio.length <= readyFd) stdio.push('pipe');
  // Node sets NODE_CHANNEL_FD to the 'ipc' descriptor's number (4); 5 is the program's message pipe.
  if (channel) stdio.push('ipc', 'pipe');
  return stdio;
}

/** `value` as one word of a shell script, taken literally. */
function quote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/**
 * What a standby runs to become `request`'s program, or null when it cannot say it (the fork
 * reports what is wrong precisely: a program that is not there or not executable).
 */
function launchScript(request: SpawnRequest): string | null {
  if (request.command.includes('/')) {
    try {
      accessSync(request.command, constants.X_OK);
    } catch {
      return null;
    }
  }
  const lines: string[] = [];
  if (request.limits !== undefined) {
    const bytes = request.limits.addressSpaceBytes;
    // dash sets soft and hard limits alike; `ulimit -v` counts KiB.
    lines.push(`ulimit -c 0${bytes === null ? '' : ` && ulimit -v ${Math.ceil(bytes / 1024)}`} || exit 125`);
  }
  // `cd` sets (and exports) PWD and OLDPWD: the program gets exactly its environment.
  lines.push(`cd -- ${quote(request.cwd)} || exit 125`, 'unset OLDPWD PWD');
  for (const [name, value] of Object.entries(request.env)) {
    if (!ENV_NAME.test(name) || value.includes('\0')) return null;
    // The standby's own NODE_CHANNEL_* describe the channel it holds.
    if (request.channel && name.startsWith('NODE_CHANNEL_')) continue;
    lines.push(`export ${name}=${quote(value)}`);
  }
  lines.push(`exec ${[request.command, ...request.args].map(quote).join(' ')} 0</dev/null`);
  return `${lines.join('\n')}\n`;
}

/** Forks standbys for the layout until it has as many as wanted, and hands their pipes to the runner. */
function prepareStandby(readyFd: number, channel: boolean): void {
  const layout = layoutOf(readyFd, channel);
  const ready = standbys.get(layout) ?? [];
  standbys.set(layout, ready);
  const wanted = options.sandbox !== null ? options.sandbox.standbys : options.standbyShell !== null ? 1 : 0;
  while (ready.length < wanted) {
    const standby = forkStandby(readyFd, channel);
    if (standby === null) return;
    ready.push(standby);
  }
}

/** A new standby for the layout (its pipes handed to the runner), or null when none can be made. */
function forkStandby(readyFd: number, channel: boolean): Standby | null {
  if (!process.connected) return null;
  const layout = layoutOf(readyFd, channel);
  const number = ++standbysForked;
  let sandbox: SandboxResources | null = null;
  let shell: ChildProcess;
  try {
    if (options.sandbox !== null) {
      const made = sandboxSettings(options.sandbox, number);
      sandbox = made.resources;
      shell = spawn(options.sandbox.launcher, [JSON.stringify(made.settings)], {
        env: {},
        cwd: '/',
        detached: true,
        stdio: stdioOf(readyFd, channel, 'pipe', 'pipe'),
      });
    } else if (options.standbyShell !== null) {
      shell = spawn(options.standbyShell, ['-s'], { env: {}, cwd: '/', detached: true, stdio: stdioOf(readyFd, channel, 'pipe') });
    } else {
      return null;
    }
  } catch {
    if (sandbox !== null) releaseSandbox(sandbox);
    return null;
  }
  shell.on('error', () => {});
  if (shell.pid === undefined) {
    if (sandbox !== null) releaseSandbox(sandbox);
    return null;
  }
  const standby: Standby = { process: shell, number, sandbox, onStarted: () => {} };
  shell.once('exit', () => {
    const ready = standbys.get(layout);
    const at = ready?.indexOf(standby) ?? -1;
    if (at === -1) return;
    ready?.splice(at, 1);
    if (sandbox !== null) releaseSandbox(sandbox);
    send({ type: 'standby-gone', standby: standby.number });
  });
  shell.stdin?.on('error', () => {});
  if (sandbox !== null) readStarted(shell, standby);
  // Its pipes are the program's: nothing of them is read here; the runner holds them from now on.
  for (const [stream, pipe] of programPipes(shell, readyFd, channel)) {
    handOver(stream, { type: 'standby-pipe', standby: standby.number, pipe });
  }
  return standby;
}

/** The launcher's one line on stdout: `{"started": <pid>}` once the program runs. */
function readStarted(launcher: ChildProcess, standby: Standby): void {
  let said = '';
  launcher.stdout?.on('error', () => {});
  launcher.stdout?.on('data', (chunk: Buffer) => {
    if (said.length > 256) return;
    said += chunk.toString('latin1');
    const match = /\{"started":(\d+)\}\n/.exec(said);
    if (match !== null) standby.onStarted(Number(match[1]));
  });
}

/** The launcher's settings for sandbox `number`, and what the helper gives it (a uid, a cgroup, a listener). */
function sandboxSettings(sandbox: SandboxOptions, number: number): { settings: object; resources: SandboxResources } {
  const uid = allocateUid(sandbox);
  const name = String(number);
  const listener = join(sandbox.socketsDir, `${name}.sock`);
  let cgroup: object | null = null;
  let cgroups: string[] = [];
  let oomEvents: string | null = null;
  if (sandbox.cgroup?.version === 1) {
    const memory = sandbox.cgroup.memory === null ? null : join(sandbox.cgroup.memory, name);
    const pids = sandbox.cgroup.pids === null ? null : join(sandbox.cgroup.pids, name);
    cgroup = { version: '1', memory, pids };
    cgroups = [memory, pids].filter((dir): dir is string => dir !== null);
    oomEvents = memory === null ? null : join(memory, 'memory.oom_control');
  } else if (sandbox.cgroup?.version === 2) {
    const path = join(sandbox.cgroup.path, name);
    cgroup = { version: '2', path };
    cgroups = [path];
    oomEvents = join(path, 'memory.events');
  }
  const settings = {
    uid,
    gid: uid,
    cgroup,
    listen: listener,
    readOnly: sandbox.readOnly,
    tmpMb: sandbox.tmpMb,
    scratchMb: sandbox.scratchMb,
  };
  return { settings, resources: { uid, listener, cgroups, oomEvents } };
}

/** A host uid no live sandbox has (round robin over the range, so a uid is not soon reused). */
function allocateUid(sandbox: SandboxOptions): number | null {
  const range = sandbox.uids;
  if (range === null) return null;
  for (let tried = 0; tried < range.count; tried++) {
    const uid = range.base + uidCursor;
    uidCursor = (uidCursor + 1) % range.count;
    if (!uidsInUse.has(uid)) {
      uidsInUse.add(uid);
      return uid;
    }
  }
  throw new Error('every sandbox uid is taken');
}

/** Whether the kernel killed a process of the sandbox for memory (its cgroup's `oom_kill` count). */
function killedForMemory(resources: SandboxResources): boolean {
  if (resources.oomEvents === null) return false;
  try {
    const match = /^oom_kill (\d+)$/m.exec(readFileSync(resources.oomEvents, 'latin1'));
    return match !== null && Number(match[1]) > 0;
  } catch {
    return false;
  }
}

/** Takes back a gone sandbox's uid, cgroup and listener (a cgroup still emptying is retried). */
function releaseSandbox(resources: SandboxResources, retries = 100): void {
  try {
    unlinkSync(resources.listener);
  } catch {
    // Never bound, or already gone.
  }
  removeCgroups(resources, retries);
}

function removeCgroups(resources: SandboxResources, retries: number): void {
  const left = resources.cgroups.filter((dir) => {
    try {
      rmdirSync(dir);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EBUSY';
    }
  });
  if (left.length > 0 && retries > 0) {
    setTimeout(() => removeCgroups({ ...resources, cgroups: left }, retries - 1), 20).unref();
    return;
  }
  if (resources.uid !== null) uidsInUse.delete(resources.uid);
}

/** The layout's oldest standby, now running `request`'s script or start request; null when there is none. */
function takeStandby(request: SpawnRequest): Standby | null {
  const layout = layoutOf(request.readyFd, request.channel === true);
  const ready = standbys.get(layout) ?? [];
  // A sandboxed program always starts from one: made now when none is ready.
  const standby = ready[0] ?? (options.sandbox !== null ? forkStandby(request.readyFd, request.channel === true) : null);
  if (standby === undefined || standby === null) return null;
  const script = standby.sandbox !== null ? startRequest(request) : launchScript(request);
  if (script === null) return null;
  if (ready[0] === standby) ready.shift();
  standby.process.stdin?.end(script);
  return standby;
}

/** What a sandbox launcher runs: the program, its whole environment, its files and limits (one JSON line). */
function startRequest(request: SpawnRequest): string | null {
  if (request.sandbox === undefined) return null;
  const env = { ...request.env };
  if (request.channel) {
    // The channel the launcher inherited, as a forked Node child would be told of it.
    env.NODE_CHANNEL_FD = '4';
    env.NODE_CHANNEL_SERIALIZATION_MODE = 'json';
  }
  const start = {
    program: request.command,
    args: request.args,
    env,
    cwd: request.cwd,
    files: request.sandbox.files,
    limits: request.sandbox.limits,
  };
  return `${JSON.stringify(start)}\n`;
}

/** Forks the program (through `prlimit` when it has limits). */
function fork(request: SpawnRequest): ChildProcess {
  let command = request.command;
  let args = request.args;
  if (request.limits !== undefined && options.prlimitPath !== null) {
    const bytes = request.limits.addressSpaceBytes;
    args = ['--core=0', ...(bytes === null ? [] : [`--as=${bytes}`]), '--', command, ...args];
    command = options.prlimitPath;
  }
  const stdio = stdioOf(request.readyFd, request.channel === true, 'ignore');
  return spawn(command, args, { env: request.env, cwd: request.cwd, detached: true, stdio });
}

function start(request: SpawnRequest): void {
  const { id } = request;
  if (options.sandbox !== null && request.sandbox === undefined) {
    send({ type: 'exit', id, code: null, signal: null, spawnError: { code: 'EINVAL', message: 'a sandboxed start needs its limits' } });
    return;
  }
  const standby = takeStandby(request);
  let childProcess: ChildProcess;
  if (standby !== null) childProcess = standby.process;
  else if (options.sandbox !== null) {
    send({ type: 'exit', id, code: null, signal: null, spawnError: { code: 'EAGAIN', message: 'no sandbox could be made' } });
    return;
  } else {
    try {
      childProcess = fork(request);
    } catch (error) {
      const failure = error as NodeJS.ErrnoException;
      send({ type: 'exit', id, code: null, signal: null, spawnError: { code: failure.code ?? 'EINVAL', message: failure.message } });
      return;
    }
  }
  // The next start of this layout gets a standby.
  setTimeout(() => prepareStandby(request.readyFd, request.channel === true), STANDBY_DELAY_MS);
  children.set(id, childProcess);
  let settled = false;
  let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const finish = (message: FromHelper) => {
    if (settled) return;
    settled = true;
    children.delete(id);
    send(message);
  };
  childProcess.once('error', (error: NodeJS.ErrnoException) => {
    if (childProcess.pid === undefined) {
      finish({ type: 'exit', id, code: null, signal: null, spawnError: { code: error.code ?? 'EINVAL', message: error.message } });
    }
  });
  const sandbox = standby?.sandbox ?? null;
  let outOfMemory = false;
  /** `spawned` went out (a sandboxed program's waits for its host pid). */
  let announced = false;
  const announce = (pid: number) => {
    if (announced || standby === null) return;
    announced = true;
    // The runner has had its pipes since the standby was forked.
    const spawned: FromHelper = { type: 'spawned', id, pid, standby: standby.number };
    if (sandbox !== null) spawned.listener = sandbox.listener;
    send(spawned);
  };
  childProcess.once('exit', (code, signal) => {
    exitStatus = { code, signal };
    // A launcher gone before its program ran: its pipes still reach the runner (its last words on stderr).
    if (childProcess.pid !== undefined) announce(childProcess.pid);
    // Whatever it started in its group goes with it.
    killGroup(childProcess, 'SIGKILL');
    if (sandbox !== null) {
      outOfMemory = killedForMemory(sandbox);
      releaseSandbox(sandbox);
    }
    // 'close' follows at once (the pipes are the runner's); this is in case it does not.
    setTimeout(() => finish({ type: 'exit', id, ...(exitStatus ?? { code, signal }), outOfMemory }), 1000).unref();
  });
  childProcess.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
    finish({ type: 'exit', id, ...(exitStatus ?? { code, signal }), outOfMemory }),
  );
  if (childProcess.pid === undefined) return;
  if (standby === null) {
    sendPipes(id, childProcess, request);
  } else if (sandbox === null) {
    announce(childProcess.pid);
  } else {
    // The program's own host pid, once the launcher started it (well before it can be ready:
    // readiness is read on pipes the runner attaches at `spawned`).
    standby.onStarted = announce;
  }
}

/** A forked program's pipes go to the runner, which reads them directly: nothing of them passes through here. */
function sendPipes(id: number, childProcess: ChildProcess, request: SpawnRequest): void {
  // The program closing its channel, or dying, is seen through its exit.
  if (request.channel) childProcess.on('error', () => {});
  // First: the runner knows the pid before it can see the program ready on its pipe.
  send({ type: 'spawned', id, pid: childProcess.pid as number });
  for (const [stream, pipe] of programPipes(childProcess, request.readyFd, request.channel === true)) {
    handOver(stream, { type: 'pipe', id, pipe });
  }
}

/** The pipes the runner reads of a program (or of the standby it will start from). */
function programPipes(child: ChildProcess, readyFd: number, channel: boolean): [Readable | null | undefined, ProgramPipe][] {
  const stdio = child.stdio as unknown as (Readable | null | undefined)[];
  const pipes: [Readable | null | undefined, ProgramPipe][] = [
    [child.stderr, 'stderr'],
    [stdio[readyFd], 'ready'],
  ];
  if (channel) pipes.push([stdio[MESSAGES_FD], 'messages']);
  return pipes;
}

/**
 * Sends a pipe to the runner with `message`. Once sent, the handle is closed here: the runner
 * holds the only copy. (The stream left behind is destroyed then, or the child would never count
 * as closed.)
 */
function handOver(stream: Readable | null | undefined, message: FromHelper): void {
  if (!stream) return;
  stream.on('error', () => {});
  holdReading(stream);
  send(message, stream, () => stream.destroy());
}

/** Passes a caller's connection on to the program's channel; this process keeps no copy of it. */
function handoff(request: HandoffRequest, socket: Socket | undefined): void {
  if (socket === undefined) return;
  // Received sockets start reading: stop before anything the caller sends lands here.
  holdReading(socket);
  const child = children.get(request.id);
  const failed = () => {
    socket.destroy();
    send({ type: 'handoff-failed', id: request.id, slot: request.slot });
  };
  if (child === undefined || !child.connected) {
    failed();
    return;
  }
  // `access` rides along as the runner gave it (undefined for the internal route: not sent).
  const connection = { type: 'connection', slot: request.slot, head: request.head, cold: request.cold, access: request.access };
  // biome-ignore lint/suspicious/noExplicitAny: a net.Socket is a valid handle to send; Node's typings name only a few classes.
  child.send(connection, socket as any, {}, (error: Error | null) => {
    if (error !== null) failed();
  });
}

process.on('message', (message: ToHelper, handle?: Socket) => {
  if (message.type === 'spawn') start(message);
  else if (message.type === 'handoff') handoff(message, handle);
  else if (message.type === 'tell') {
    const child = children.get(message.id);
    if (child?.connected) child.send(message.message as object, undefined, {}, () => {});
  }
  else if (message.type === 'signal') {
    const child = children.get(message.id);
    if (child !== undefined) killGroup(child, message.signal);
  }
});

/** The runner is gone (exited, crashed, or closed the channel): take every program with it. */
function runnerGone(): void {
  for (const child of children.values()) killGroup(child, 'SIGKILL');
  for (const ready of standbys.values()) for (const standby of ready) killGroup(standby.process, 'SIGKILL');
  // Listeners go now; cgroups still emptying are swept by the next runner.
  for (const ready of standbys.values()) for (const standby of ready) if (standby.sandbox !== null) releaseSandbox(standby.sandbox, 0);
  process.exit(0);
}
process.on('disconnect', runnerGone);
// Node holds 'disconnect' back while a handle it sent waits for its acknowledgement, which never
// comes once the runner is gone: the channel is closed all the same, and this sees it.
setInterval(() => {
  if (!process.connected) runnerGone();
}, CHANNEL_CHECK_MS).unref();

// Signals meant for the runner (a terminal's Ctrl-C reaches the whole process group) are the
// runner's to act on: it drains, then closes the channel.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
