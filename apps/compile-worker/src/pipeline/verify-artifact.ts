import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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

/** `\0asm`, then the component encoding's version 0x0d and layer 1 (a core module has version 1, layer 0). */
const COMPONENT_HEADER = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
const CORE_MODULE_HEADER = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
/** What a function component must export: the `wasi:http/proxy` world's handler. */
const INCOMING_HANDLER = /^wasi:http\/incoming-handler@0\.2\.\d+$/;
/** Exports a function component may have besides: `wasi:cli/run` (a handler built from a bin). */
const OTHER_EXPORTS = /^wasi:cli\/run@0\.2\.\d+$/;
/** WASI 0.2 interfaces: `wasi:<package>/<interface>@0.2.<patch>`. */
const WASI_0_2 = /^wasi:[a-z][a-z0-9-]*\/[a-z][a-z0-9-]*@0\.2\.\d+$/;

export interface ComponentWorld {
  imports: string[];
  exports: string[];
}

/**
 * The world a component's binary declares, from jco's `componentWit` (wasm-tools), in a worker
 * thread: jco is an ES module and its tools are a large WebAssembly program, kept off this
 * thread. Throws if the bytes are not a valid component.
 */
async function componentWorld(bytes: Uint8Array, jco: string, timeoutMs: number): Promise<ComponentWorld> {
  const script = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.jco)
      .then((jco) => jco.componentWit(workerData.bytes))
      .then((wit) => parentPort.postMessage({ wit }), (error) => parentPort.postMessage({ error: String(error && error.message || error) }));
  `;
  const worker = new Worker(script, { eval: true, workerData: { jco, bytes } });
  try {
    const reply = await new Promise<{ wit?: string; error?: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading the component took longer than ${timeoutMs} ms`)), timeoutMs);
      worker.once('message', (message: { wit?: string; error?: string }) => {
        clearTimeout(timer);
        resolve(message);
      });
      worker.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    if (reply.wit === undefined) throw new Error(reply.error ?? 'no WIT');
    const world: ComponentWorld = { imports: [], exports: [] };
    for (const line of reply.wit.split('\n')) {
      const match = /^\s*(import|export)\s+([^;]+?);?\s*$/.exec(line);
      if (match) (match[1] === 'import' ? world.imports : world.exports).push(match[2]!);
    }
    return world;
  } finally {
    void worker.terminate();
  }
}

/**
 * Checks that the artifact of a wasm build is what the runner (and `wasmtime serve`, `jco serve`)
 * can run: a WebAssembly component, not a core module, that exports
 * `wasi:http/incoming-handler@0.2.x` and imports only WASI 0.2 interfaces. Returns its world.
 */
export async function verifyWasmComponent(path: string, options: { timeoutMs: number }): Promise<ComponentWorld> {
  const bytes = await readFile(path).catch(() => {
    throw new BuildFailure('the build produced no artifact', 'infrastructure');
  });
  const header = bytes.subarray(0, 8);
  if (header.equals(CORE_MODULE_HEADER)) {
    throw new BuildFailure(
      'the artifact is a core WebAssembly module, not a component: it was not linked with wasm-component-ld',
      'compile',
    );
  }
  if (!header.equals(COMPONENT_HEADER)) throw new BuildFailure('the artifact is not a WebAssembly component', 'compile');
  let jco: string;
  try {
    jco = pathToFileURL(require.resolve('@bytecodealliance/jco')).href;
  } catch {
    throw new BuildFailure('cannot verify the component: @bytecodealliance/jco is not installed', 'infrastructure');
  }
  let world: ComponentWorld;
  try {
    world = await componentWorld(bytes, jco, Math.max(options.timeoutMs, 10_000));
  } catch (error) {
    throw new BuildFailure(`the artifact is not a valid WebAssembly component: ${(error as Error).message}`, 'compile');
  }
  if (!world.exports.some((name) => INCOMING_HANDLER.test(name))) {
    throw new BuildFailure(
      `the component does not export wasi:http/incoming-handler@0.2 (it exports ${world.exports.join(', ') || 'nothing'}): is #[ignite::main] in the crate that was built?`,
      'compile',
    );
  }
  const extraExports = world.exports.filter((name) => !INCOMING_HANDLER.test(name) && !OTHER_EXPORTS.test(name));
  if (extraExports.length > 0) {
    throw new BuildFailure(
      `the component exports ${extraExports.join(', ')}: a function component exports only wasi:http/incoming-handler`,
      'compile',
    );
  }
  const foreign = world.imports.filter((name) => !WASI_0_2.test(name));
  if (foreign.length > 0) {
    throw new BuildFailure(
      `the component imports ${foreign.join(', ')}: a function component may import only WASI 0.2 interfaces (wasi:*@0.2.x)`,
      'compile',
    );
  }
  return world;
}
