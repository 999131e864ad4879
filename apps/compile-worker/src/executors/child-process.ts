import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SupervisedRun {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  timeoutMs: number;
  signal: AbortSignal;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
}

export type SupervisedResult = { outcome: 'exited'; code: number } | { outcome: 'timeout' } | { outcome: 'canceled' };

/**
 * Runs a command in its own process group, streaming its output line by line. On timeout or
 * abort the whole group is killed (bubblewrap's PID namespace takes every descendant with it).
 */
export function runSupervised(run: SupervisedRun): Promise<SupervisedResult> {
  return new Promise((resolve, reject) => {
    if (run.signal.aborted) {
      resolve({ outcome: 'canceled' });
      return;
    }
    const child = spawn(run.command, run.args, { cwd: run.cwd, env: run.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stopped: 'timeout' | 'canceled' | undefined;
    const killGroup = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      stopped = 'timeout';
      killGroup();
    }, run.timeoutMs);
    const onAbort = () => {
      stopped ??= 'canceled';
      killGroup();
    };
    run.signal.addEventListener('abort', onAbort, { once: true });

    const streams = [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const;
    const drained = streams.map(
      ([name, stream]) =>
        new Promise<void>((done) => {
          const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
          lines.on('line', (line) => run.onLine(name, line));
          lines.on('close', done);
        }),
    );

    child.on('error', (error) => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      run.signal.removeEventListener('abort', onAbort);
      // Descendants that escaped into the background die with the group.
      killGroup();
      void Promise.all(drained).then(() => {
        if (stopped) resolve({ outcome: stopped });
        else resolve({ outcome: 'exited', code: code ?? 1 });
      });
    });
  });
}
