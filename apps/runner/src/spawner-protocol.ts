/**
 * Messages between the runner and its spawn helper (`spawner-main.cts`), over the helper's IPC
 * channel. Starting a program means a fork of the process that starts it, and a fork costs in
 * proportion to that process's memory: the runner (Prisma, pools, caches) pays several times
 * what a small helper pays, and blocks its event loop meanwhile. So the helper starts the
 * programs, hands their stderr pipes over to the runner, and reports readiness and exits.
 */

export interface SpawnRequest {
  type: 'spawn';
  id: number;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** The program's descriptor 3 is a pipe: `ready` on it means it listens. */
  readyFd: number;
}

export interface SignalRequest {
  type: 'signal';
  id: number;
  signal: NodeJS.Signals;
}

export type ToHelper = SpawnRequest | SignalRequest;

export type FromHelper =
  /** Sent with the program's stderr pipe as the message's handle: the runner reads it directly. */
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'ready'; id: number }
  /** The ready descriptor closed without a word (a program that does not use it). */
  | { type: 'ready-fd-closed'; id: number }
  /** Gone; `spawnError` when it could not be started at all. */
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null; spawnError?: { code: string; message: string } };
