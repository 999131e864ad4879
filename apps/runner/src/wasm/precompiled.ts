import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode } from '@ignite/contracts';
import type { PrismaClient } from '@ignite/database';
import type { Logger } from '@ignite/service-kit';
import type { ArtifactCache } from '../artifacts';
import { InvocationError } from '../errors';
import { READY_FD, SANDBOX_SCRATCH } from '../native/program-instance';
import type { Spawner } from '../native/spawner';
import type { SandboxLimits } from '../native/spawner-protocol';

const run = promisify(execFile);
const MiB = 1024 * 1024;
/** Where the component and the file to fill are in a precompiling sandbox. */
const COMPONENT_FD = 7;
const OUTPUT_FD = 8;
const CACHE_KEY = /^wasmtime-[0-9A-Za-z.+-]+-[0-9a-f]{16}$/;

/** The compile worker's record of a component precompiled for one engine (`precompiled_components`). */
export interface PrecompiledRecord {
  sha256: string;
  size: number;
}

/** Where the runner learns of the compile worker's precompiled files. */
export interface PrecompiledLookup {
  find(componentSha256: string, cacheKey: string): Promise<PrecompiledRecord | null>;
}

/** The lookup in Postgres (one primary-key read per release a runner prepares). */
export function precompiledInDatabase(prisma: PrismaClient): PrecompiledLookup {
  return {
    find: (componentSha256, cacheKey) =>
      prisma.precompiledComponent.findUnique({
        where: { componentSha256_cacheKey: { componentSha256, cacheKey } },
        select: { sha256: true, size: true },
      }),
  };
}

export interface PrecompiledOptions {
  /** `ignite-wasm-host`. */
  host: string;
  artifacts: ArtifactCache;
  lookup: PrecompiledLookup;
  spawner: Spawner;
  /** Limits of the sandbox a component is compiled in here; null: a plain process (`RUNNER_SANDBOX=none`). */
  sandbox: SandboxLimits | null;
  /** The runner's own precompiled files, `<dir>/<component sha256>.<cache key>.cwasm`. */
  dir: string;
  timeoutMs: number;
  logger: Logger;
}

/**
 * The precompiled form (`.cwasm`) of each wasm release's component for this runner's host, as a
 * local file whose bytes were checked: what the host maps and runs as machine code, so nothing
 * unchecked reaches it (Wasmtime's deserialization trusts its input).
 *
 * 1. The compile worker's file for this host's cache key (`precompiled_components`, written when
 *    the component was verified): the store's blob, verified against the sha256 that row holds,
 *    exactly like a release's artifact (`ArtifactCache`: a private copy for sandboxed hosts).
 * 2. None for this key (another Wasmtime version or engine configuration, another CPU: the key
 *    names them), or the store's copy does not hash to its address (tampered, truncated): the
 *    runner compiles the verified component itself, with the same host program, in a function
 *    sandbox (the component as descriptor 7, the file to fill as 8), and hashes the result as it
 *    stores it in its own directory. Those files are the runner's for the life of the process:
 *    a later runner process does not trust what an earlier one left (it has no record of its
 *    hash) and compiles again.
 *
 * One preparation per component, shared by every start of every release using it.
 */
export class PrecompiledComponents {
  private key: Promise<string> | null = null;
  private readonly files = new Map<string, Promise<string>>();
  private dirReady: Promise<unknown> | null = null;

  constructor(private readonly options: PrecompiledOptions) {}

  /** This host's cache key (`ignite-wasm-host cache-key`), asked once. */
  cacheKey(): Promise<string> {
    if (this.key === null) {
      const asked = run(this.options.host, ['cache-key'], { timeout: 30_000, env: {} }).then(({ stdout }) => {
        const key = stdout.trim();
        if (!CACHE_KEY.test(key)) throw new Error(`the wasm host printed ${JSON.stringify(key)} as its cache key`);
        return key;
      });
      this.key = asked;
      // A failure is not remembered: the next release tries again.
      asked.catch(() => {
        if (this.key === asked) this.key = null;
      });
    }
    return this.key;
  }

  /** The verified precompiled file of a component (`InvocationError` when there can be none). */
  file(componentSha256: string): Promise<string> {
    let pending = this.files.get(componentSha256);
    if (pending === undefined) {
      pending = this.prepare(componentSha256);
      this.files.set(componentSha256, pending);
      pending.catch(() => this.files.delete(componentSha256));
    }
    return pending;
  }

  private async prepare(componentSha256: string): Promise<string> {
    let key: string;
    try {
      key = await this.cacheKey();
    } catch (error) {
      this.options.logger.error({ err: error, host: this.options.host }, 'the wasm host does not say its cache key');
      throw new InvocationError(ErrorCode.internal, 'the runner’s wasm host cannot run (see the runner’s log)');
    }
    const record = await this.options.lookup.find(componentSha256, key);
    if (record !== null) {
      try {
        return await this.options.artifacts.executable(record.sha256);
      } catch (error) {
        // Not trusted, never loaded: the component itself is compiled instead.
        this.options.logger.warn(
          { err: error, componentSha256, cacheKey: key, sha256: record.sha256 },
          'the stored precompiled component does not match its record: compiling the component here',
        );
      }
    } else {
      this.options.logger.info({ componentSha256, cacheKey: key }, 'no precompiled component for this host: compiling it here');
    }
    return this.compile(componentSha256, key);
  }

  private async compile(componentSha256: string, key: string): Promise<string> {
    const startedAt = performance.now();
    const component = await this.options.artifacts.executable(componentSha256);
    this.dirReady ??= mkdir(this.options.dir, { recursive: true });
    await this.dirReady;
    const target = join(this.options.dir, `${componentSha256}.${key}.cwasm`);
    const staged = join(this.options.dir, `.${randomUUID()}.cwasm`);
    try {
      // The sandbox's launcher opens it for writing: it must exist.
      await writeFile(staged, '', { mode: 0o600, flag: 'wx' });
      const words = await this.runPrecompile(component, staged);
      if (words !== null) {
        throw new InvocationError(
          ErrorCode.internal,
          `the release's component could not be compiled for this runner's wasm host: ${words.slice(0, 500)}`,
        );
      }
      const bytes = await readFile(staged);
      if (bytes.length < 4 || bytes.readUInt32BE(0) !== 0x7f454c46) {
        throw new InvocationError(ErrorCode.internal, "the runner's wasm host wrote no precompiled component");
      }
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await chmod(staged, 0o444);
      await rename(staged, target);
      this.options.logger.info(
        { componentSha256, cacheKey: key, sha256, size: bytes.length, ms: Math.round(performance.now() - startedAt) },
        'component precompiled',
      );
      return target;
    } finally {
      await rm(staged, { force: true });
    }
  }

  /** `ignite-wasm-host precompile` on the component; null when it succeeded, else what it said. */
  private async runPrecompile(component: string, output: string): Promise<string | null> {
    const { sandbox, spawner, host, timeoutMs } = this.options;
    const program = spawner.spawn(
      sandbox === null
        ? { command: host, args: ['precompile', component, output], env: {}, cwd: this.options.dir, readyFd: READY_FD }
        : {
            command: host,
            args: ['precompile', `/proc/self/fd/${COMPONENT_FD}`, `/proc/self/fd/${OUTPUT_FD}`],
            env: {},
            cwd: SANDBOX_SCRATCH,
            readyFd: READY_FD,
            sandbox: {
              files: [
                { fd: COMPONENT_FD, path: component },
                { fd: OUTPUT_FD, path: output, write: true },
              ],
              limits: sandbox,
            },
          },
    );
    let said = '';
    program.onStderr = (chunk) => {
      if (said.length < 4096) said += chunk.toString('utf8');
    };
    const timer = setTimeout(() => program.signal('SIGKILL'), timeoutMs);
    const status = await program.exited;
    clearTimeout(timer);
    if (status.code === 0) return null;
    const words = said.trim().replace(/^ignite-wasm-host: /, '');
    if (status.spawnError !== undefined) return `it could not be started (${status.spawnError.code}: ${status.spawnError.message})`;
    if (status.signal === 'SIGKILL' && words === '') return `it did not finish within ${timeoutMs} ms`;
    return words || `it exited (${status.signal ?? `code ${status.code}`})`;
  }
}

/** Limits of a precompiling sandbox: Cranelift's memory for a large component, a file of the scratch size. */
export function precompileLimits(scratchMb: number, processes: number, openFiles: number): SandboxLimits {
  return { memoryBytes: 1024 * MiB, addressSpaceBytes: null, processes, openFiles, fileSizeBytes: scratchMb * MiB };
}
