import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { programEnv } from '@ignite/contracts';
import { BuildFailure } from '../executors/build-executor';
import { bubblewrapArgs } from '../executors/sandbox';

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const ELFCLASS64 = 2;
const ET_EXEC = 2;
const ET_DYN = 3;
const EM_X86_64 = 0x3e;

/** Checks that the file is a 64-bit x86-64 ELF executable (PIE included). */
export async function assertNativeExecutable(path: string): Promise<void> {
  const file = await open(path, 'r').catch(() => {
    throw new BuildFailure('the build produced no artifact', 'infrastructure');
  });
  try {
    const header = Buffer.alloc(20);
    await file.read(header, 0, 20, 0);
    const type = header.readUInt16LE(16);
    if (
      !header.subarray(0, 4).equals(ELF_MAGIC) ||
      header[4] !== ELFCLASS64 ||
      header.readUInt16LE(18) !== EM_X86_64 ||
      (type !== ET_EXEC && type !== ET_DYN)
    ) {
      throw new BuildFailure('the artifact is not an x86-64 Linux executable', 'infrastructure');
    }
  } finally {
    await file.close();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts the artifact the way the runner will (sandboxed, no environment of ours) and requires it
 * to announce readiness and answer its readiness probe within `timeoutMs`.
 */
export async function verifyNativeStarts(artifact: string, options: { timeoutMs: number; sandbox: 'bwrap' | 'none' }): Promise<void> {
  const [port, probePort] = [await freePort(), await freePort()];
  const env = {
    [programEnv.port]: String(port),
    [programEnv.probePort]: String(probePort),
    [programEnv.readyFd]: '3',
    [programEnv.functionId]: 'ignite/verify',
  };
  const command =
    options.sandbox === 'none'
      ? [artifact]
      : ['bwrap', ...bubblewrapArgs({ readOnly: [dirname(artifact)], writable: [], env, cwd: '/tmp', network: true }, [artifact])];
  const child = spawn(command[0]!, command.slice(1), {
    env: options.sandbox === 'none' ? env : { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString();
  });
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`)));
  try {
    const ready = new Promise<void>((resolve) => {
      const fd = child.stdio[3] as NodeJS.ReadableStream;
      fd.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
    });
    const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('did not become ready'), options.timeoutMs).unref());
    const outcome = await Promise.race([ready.then(() => undefined), exited, timeout]);
    if (outcome)
      throw new BuildFailure(
        `the artifact ${outcome} within ${options.timeoutMs} ms of starting${stderr ? `: ${stderr.trim().slice(0, 500)}` : ''}`,
        'compile',
      );
    const probe = await fetch(`http://127.0.0.1:${probePort}/ready`, { signal: AbortSignal.timeout(options.timeoutMs) }).catch(
      (error: Error) => error,
    );
    if (probe instanceof Error || probe.status !== 200) {
      throw new BuildFailure(
        `the artifact did not answer its readiness probe: ${probe instanceof Error ? probe.message : `HTTP ${probe.status}`}`,
        'compile',
      );
    }
  } finally {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
