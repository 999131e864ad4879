import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Readable } from 'node:stream';

/** How long a program may take to say it is ready. */
const READY_TIMEOUT_MS = 15_000;

/** A free loopback port (the program is given it; nothing else binds it in the meantime, in practice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** How to start a build: the command, given the port it is to serve on. */
export interface DevLaunch {
  command: string;
  args: string[];
  env: (port: number) => Record<string, string>;
}

export interface DevInstanceOptions {
  launch: DevLaunch;
  /** What the release is called in `x-ignite-release`: `dev-<build number>`. */
  release: string;
  /** Each line the program writes to stderr. */
  onLine: (line: string) => void;
}

/**
 * One run of a dev build (a native program, or the wasm host serving a component), as the
 * runner starts one: a port, a ready descriptor (3) it writes `ready` to. Counts the requests it is serving, so that a swap
 * stops it only once they are answered.
 */
export class DevInstance {
  inFlight = 0;
  served = 0;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;
  /** Being stopped (by a swap, a time limit or the end): its exit is expected. */
  stopping = false;

  private constructor(
    readonly options: DevInstanceOptions,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  static async start(options: DevInstanceOptions): Promise<DevInstance> {
    const port = await freePort();
    const child = spawn(options.launch.command, options.launch.args, {
      env: options.launch.env(port),
      stdio: ['ignore', 'inherit', 'pipe', 'pipe'],
    });
    const instance = new DevInstance(options, port, child);
    let partial = '';
    const tail: string[] = [];
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        options.onLine(line);
      }
    });
    await new Promise<void>((resolve, reject) => {
      const ready = child.stdio[3] as Readable;
      let said = '';
      let settled = false;
      const timer = setTimeout(() => fail(`did not say it was ready within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(`the program ${why}${tail.length > 0 ? `; its last lines:\n${tail.join('\n')}` : ''}`));
      };
      ready.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (said.includes('ready') && !settled) {
          settled = true;
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (error) => fail(`could not start (${error.message})`));
      void instance.exited.then(() => fail(`exited before it was ready (${instance.exitSignal ?? `exit ${instance.exitCode}`})`));
    });
    return instance;
  }

  /** Stops it now, requests in flight or not (past its time limit). */
  kill(): void {
    this.stopping = true;
    if (this.running) this.child.kill('SIGKILL');
  }

  /** SIGTERM once no request is in flight on it (the SDK's graceful shutdown), then SIGKILL after `graceMs`. */
  async stopWhenIdle(graceMs = 10_000): Promise<void> {
    if (this.stopping) return this.exited;
    this.stopping = true;
    while (this.inFlight > 0 && this.running) await new Promise((resolve) => setTimeout(resolve, 20));
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
