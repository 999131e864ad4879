// `npm start`'s supervisor: runs the platform's parts, restarts one that exits (with backoff and a
// line saying why) while the others keep serving, gives up on one that crash-loops (with its last
// stderr lines), and stops everything on SIGTERM/SIGINT/SIGHUP — or when whatever started it is
// gone (`npm start` runs under `sh -c`, which dies on SIGTERM without passing it on).
import { type ChildProcess, spawn } from 'node:child_process';
import { say } from './log.mts';

export interface Part {
  name: string;
  command: string;
  args: string[];
}

export interface SupervisorOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A part that exits this many times within `crashWindowMs` is not started again. */
  maxCrashes: number;
  crashWindowMs: number;
  /** The first restart's delay, doubled per exit in the window, capped at `maxRestartDelayMs`. */
  restartDelayMs: number;
  maxRestartDelayMs: number;
  /** SIGTERM, then SIGKILL this long after. */
  stopGraceMs: number;
  /** Stderr lines kept per part, shown when it is given up on. */
  tailLines: number;
}

export const DEFAULT_SUPERVISION = {
  maxCrashes: 5,
  crashWindowMs: 60_000,
  restartDelayMs: 500,
  maxRestartDelayMs: 10_000,
  stopGraceMs: 10_000,
  tailLines: 20,
};

interface Running {
  part: Part;
  child: ChildProcess | null;
  exits: number[];
  tail: string[];
  restart: NodeJS.Timeout | null;
  givenUp: boolean;
}

/**
 * Runs `parts` until told to stop; resolves with the exit code `npm start` should have: 0 after a
 * stop, 1 when every part was given up on.
 */
export function supervise(parts: Part[], options: SupervisorOptions): Promise<number> {
  const running: Running[] = parts.map((part) => ({ part, child: null, exits: [], tail: [], restart: null, givenUp: false }));
  let stopping = false;
  return new Promise((resolve) => {
    const start = (entry: Running) => {
      entry.restart = null;
      if (stopping) return;
      const child = spawn(entry.part.command, entry.part.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
      entry.child = child;
      child.stdout?.pipe(process.stdout, { end: false });
      let partial = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        process.stderr.write(chunk);
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        entry.tail.push(...lines.filter((line) => line !== ''));
        entry.tail.splice(0, Math.max(0, entry.tail.length - options.tailLines));
      });
      child.on('error', () => {});
      child.once('exit', (code, signal) => exited(entry, child, code, signal));
    };
    const exited = (entry: Running, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null) => {
      if (entry.child === child) entry.child = null;
      if (stopping) {
        if (running.every((r) => r.child === null)) resolve(0);
        return;
      }
      const now = Date.now();
      entry.exits = [...entry.exits.filter((at) => now - at < options.crashWindowMs), now];
      const why = signal ?? `code ${code}`;
      if (entry.exits.length >= options.maxCrashes) {
        entry.givenUp = true;
        say(
          `${entry.part.name} exited ${entry.exits.length} times within ${options.crashWindowMs / 1000} s (last: ${why}); not starting it again, the other parts keep running. Its last lines:\n${entry.tail.map((line) => `    ${line}`).join('\n')}`,
        );
        if (running.every((r) => r.givenUp)) resolve(1);
        return;
      }
      const delay = Math.min(options.maxRestartDelayMs, options.restartDelayMs * 2 ** (entry.exits.length - 1));
      say(`${entry.part.name} exited (${why}); restarting it in ${delay} ms`);
      entry.restart = setTimeout(() => start(entry), delay);
    };
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      say(`${why}: stopping the platform`);
      for (const entry of running) {
        if (entry.restart !== null) clearTimeout(entry.restart);
        entry.child?.kill('SIGTERM');
      }
      const kill = setTimeout(() => {
        for (const entry of running) entry.child?.kill('SIGKILL');
      }, options.stopGraceMs);
      kill.unref();
      if (running.every((r) => r.child === null)) resolve(0);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stop(signal));
    // Orphaned (the shell `npm start` ran this in was killed): the parts must not outlive it.
    const parent = process.ppid;
    setInterval(() => {
      if (process.ppid !== parent) stop('what started the platform is gone');
    }, 1000).unref();
    for (const entry of running) start(entry);
    say(`running ${running.length} part(s): ${parts.map((p) => p.name).join(', ')}; Ctrl-C stops them`);
  });
}
