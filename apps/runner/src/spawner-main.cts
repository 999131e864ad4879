/**
 * The runner's spawn helper: a small process (node built-ins only, so forking it is cheap)
 * that starts the programs for the runner, hands each one's stderr pipe over to the runner, and
 * reports readiness and exits over its IPC channel (protocol: `spawner-protocol.ts`).
 * CommonJS TypeScript that Node runs as is (type stripping) under the tests, and compiled to
 * `spawner-main.cjs` for the built runner.
 *
 * If the runner goes away (the channel closes), every program is killed and the helper exits: a
 * crashed runner leaves nothing running.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Socket } from 'node:net';
import type { FromHelper, HandoffRequest, SpawnRequest, ToHelper } from './spawner-protocol';

const { spawn } = require('node:child_process') as typeof import('node:child_process');

interface Child {
  process: ChildProcess;
  reaped: boolean;
}

const children = new Map<number, Child>();
/** The program's message pipe (direct connections). */
const MESSAGES_FD = 5;

function send(message: FromHelper, handle?: Readable, sent?: () => void): void {
  if (!process.connected) {
    sent?.();
    return;
  }
  // biome-ignore lint/suspicious/noExplicitAny: a pipe's net.Socket is a valid handle to send; Node's typings name only a few classes.
  process.send?.(message, handle as any, {}, () => sent?.());
}

function killGroup(child: Child, signal: NodeJS.Signals): void {
  const pid = child.process.pid;
  if (pid === undefined || child.reaped) return;
  try {
    process.kill(-pid, signal);
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

function start(request: SpawnRequest): void {
  const { id } = request;
  const stdio: ('ignore' | 'pipe' | 'ipc')[] = ['ignore', 'ignore', 'pipe'];
  while (stdio.length <= request.readyFd) stdio.push('pipe');
  // Node sets NODE_CHANNEL_FD to the 'ipc' descriptor's number (4); 5 is the program's message pipe.
  if (request.channel) stdio.push('ipc', 'pipe');
  let childProcess: ChildProcess;
  try {
    childProcess = spawn(request.command, request.args, { env: request.env, cwd: request.cwd, detached: true, stdio });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException;
    send({ type: 'exit', id, code: null, signal: null, spawnError: { code: failure.code ?? 'EINVAL', message: failure.message } });
    return;
  }
  const child: Child = { process: childProcess, reaped: false };
  children.set(id, child);
  let settled = false;
  let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const finish = (message: FromHelper) => {
    if (settled) return;
    settled = true;
    child.reaped = true;
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
    try {
      if (childProcess.pid !== undefined) process.kill(-childProcess.pid, 'SIGKILL');
    } catch {
      // ESRCH
    }
    // The ready pipe closes right after, unless a descendant escaped the group and holds it open.
    setTimeout(() => finish({ type: 'exit', id, ...(exitStatus ?? { code, signal }) }), 1000).unref();
  });
  childProcess.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
    finish({ type: 'exit', id, ...(exitStatus ?? { code, signal }) }),
  );
  if (childProcess.pid === undefined) return;
  if (request.channel) {
    // The program closing its channel, or dying, is seen through its exit.
    childProcess.on('error', () => {});
    const messages = (childProcess.stdio as unknown as (Readable | null | undefined)[])[MESSAGES_FD];
    if (messages) {
      messages.on('error', () => {});
      holdReading(messages);
      // The runner reads the program's messages itself: nothing of them passes through here.
      send({ type: 'messages', id }, messages, () => messages.destroy());
    }
  }

  const stderr = childProcess.stderr;
  if (stderr !== null) {
    stderr.on('error', () => {});
    holdReading(stderr);
    // Once sent, the handle is closed here: the runner holds the only copy. (The stream left
    // behind is destroyed then, or the child would never count as closed.)
    send({ type: 'spawned', id, pid: childProcess.pid }, stderr, () => stderr.destroy());
  } else {
    send({ type: 'spawned', id, pid: childProcess.pid });
  }
  const ready = childProcess.stdio[request.readyFd] as Readable | null | undefined;
  if (ready) {
    let said = '';
    let told = false;
    ready.on('data', (chunk: Buffer) => {
      if (told) return;
      said += chunk.toString('latin1');
      if (said.includes('ready')) {
        told = true;
        send({ type: 'ready', id });
      } else if (said.length > 64) {
        told = true;
        send({ type: 'ready-fd-closed', id });
      }
    });
    ready.on('end', () => {
      if (!told) send({ type: 'ready-fd-closed', id });
      told = true;
    });
    ready.on('error', () => {});
  }
}

/** Passes a caller's connection on to the program's channel; this process keeps no copy of it. */
function handoff(request: HandoffRequest, socket: Socket | undefined): void {
  if (socket === undefined) return;
  // Received sockets start reading: stop before anything the caller sends lands here.
  holdReading(socket);
  const child = children.get(request.id)?.process;
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
    const child = children.get(message.id)?.process;
    if (child?.connected) child.send(message.message as object, undefined, {}, () => {});
  }
  else if (message.type === 'signal') {
    const child = children.get(message.id);
    if (child !== undefined) killGroup(child, message.signal);
  }
});

// The runner is gone (exited, crashed, or closed the channel): take every program with it.
process.on('disconnect', () => {
  for (const child of children.values()) killGroup(child, 'SIGKILL');
  process.exit(0);
});

// Signals meant for the runner (a terminal's Ctrl-C reaches the whole process group) are the
// runner's to act on: it drains, then closes the channel.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
