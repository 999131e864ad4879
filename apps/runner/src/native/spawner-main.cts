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
 * If the runner goes away (the channel closes), every program is killed and the helper exits: a
 * crashed runner leaves nothing running.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { FromHelper, HandoffRequest, HelperOptions, ProgramPipe, SpawnRequest, ToHelper } from './spawner-protocol';

const { spawn } = require('node:child_process') as typeof import('node:child_process');
const { accessSync, constants } = require('node:fs') as typeof import('node:fs');

const options: HelperOptions = { prlimitPath: null, standbyShell: null, ...JSON.parse(process.argv[2] ?? '{}') };

/** The programs running, by the runner's id (until they are gone). */
const children = new Map<number, ChildProcess>();
/** A shell waiting for its script on stdin, and the number the runner knows its pipes by. */
interface Standby {
  process: ChildProcess;
  number: number;
}

/** Standby shells by descriptor layout (`layoutOf`). */
const standbys = new Map<string, Standby>();
let standbysForked = 0;
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
function stdioOf(readyFd: number, channel: boolean, stdin: 'ignore' | 'pipe'): StdioOptions {
  const stdio: ('ignore' | 'pipe' | 'ipc')[] = [stdin, 'ignore', 'pipe'];
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

/** Forks a standby for the layout, unless it has one, and hands its pipes to the runner. */
function prepareStandby(readyFd: number, channel: boolean): void {
  const layout = layoutOf(readyFd, channel);
  if (options.standbyShell === null || standbys.has(layout) || !process.connected) return;
  let shell: ChildProcess;
  try {
    shell = spawn(options.standbyShell, ['-s'], { env: {}, cwd: '/', detached: true, stdio: stdioOf(readyFd, channel, 'pipe') });
  } catch {
    return;
  }
  shell.on('error', () => {});
  if (shell.pid === undefined) return;
  const standby: Standby = { process: shell, number: ++standbysForked };
  standbys.set(layout, standby);
  shell.once('exit', () => {
    if (standbys.get(layout) !== standby) return;
    standbys.delete(layout);
    send({ type: 'standby-gone', standby: standby.number });
  });
  shell.stdin?.on('error', () => {});
  // Its pipes are the program's: nothing of them is read here; the runner holds them from now on.
  for (const [stream, pipe] of programPipes(shell, readyFd, channel)) {
    handOver(stream, { type: 'standby-pipe', standby: standby.number, pipe });
  }
}

/** The layout's standby, now running `request`'s script; null when there is none (or the script cannot be said). */
function takeStandby(request: SpawnRequest): Standby | null {
  const layout = layoutOf(request.readyFd, request.channel === true);
  const standby = standbys.get(layout);
  if (standby === undefined) return null;
  const script = launchScript(request);
  if (script === null) return null;
  standbys.delete(layout);
  standby.process.stdin?.end(script);
  return standby;
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
  const standby = takeStandby(request);
  let childProcess: ChildProcess;
  if (standby !== null) childProcess = standby.process;
  else {
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
  childProcess.once('exit', (code, signal) => {
    exitStatus = { code, signal };
    // Whatever it started in its group goes with it.
    killGroup(childProcess, 'SIGKILL');
    // 'close' follows at once (the pipes are the runner's); this is in case it does not.
    setTimeout(() => finish({ type: 'exit', id, ...(exitStatus ?? { code, signal }) }), 1000).unref();
  });
  childProcess.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
    finish({ type: 'exit', id, ...(exitStatus ?? { code, signal }) }),
  );
  if (childProcess.pid === undefined) return;
  if (standby !== null) {
    // The runner has had its pipes since the standby was forked.
    send({ type: 'spawned', id, pid: childProcess.pid, standby: standby.number });
  } else {
    sendPipes(id, childProcess, request);
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
  // biome-ignore lint/suspicious/noExplicitAny: a net.Socket is a valid handle to send; Node's typings name only a few classes.
  child.send({ type: 'connection', slot: request.slot, head: request.head, cold: request.cold }, socket as any, {}, (error: Error | null) => {
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
  for (const standby of standbys.values()) killGroup(standby.process, 'SIGKILL');
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
