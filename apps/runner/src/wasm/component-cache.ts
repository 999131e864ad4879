import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCode } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import { InvocationError } from '../errors';
import { limitMemory, MemoryLimitError, WASM_PAGE_BYTES } from './memory-limit';
import type { TranspileReply, TranspileRequest, WasmApi, WasmModule } from './protocol';

const WebAssemblyApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** Bumped when the layout of a transpiled component's directory changes. */
const LAYOUT_VERSION = 1;
/** The export that makes a component a function: `wasi:http/incoming-handler@0.2.x`. */
const INCOMING_HANDLER = /^wasi:http\/incoming-handler@0\.2\.\d+$/;
/** Compiled module sets kept in memory (per artifact and memory limit). */
const MAX_COMPILED = 32;

/** Where an artifact's bytes are on this machine, verified against its sha256. */
export interface ArtifactSource {
  executable(sha256: string): Promise<string>;
}

export interface TranspiledComponent {
  sha256: string;
  dir: string;
  /** `file://` URL of the glue (ESM): `instantiate(getCoreModule, imports, instantiateCore)`. */
  glueUrl: string;
  coreModules: string[];
  /** Imported interfaces, without versions (`wasi:io/streams`). */
  imports: string[];
}

interface Meta {
  layout: number;
  jco: string;
  imports: string[];
  exports: string[];
  coreModules: string[];
}

/** A script next to this file: the compiled `.cjs` in `dist/`, the `.cts` source under the tests. */
export function workerScript(name: string): string {
  const compiled = join(__dirname, `${name}.cjs`);
  return existsSync(compiled) ? compiled : join(__dirname, `${name}.cts`);
}

function jcoVersion(): string {
  try {
    return (require('@bytecodealliance/jco/package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * Components as the runner runs them: transpiled by jco once per artifact (in a worker thread,
 * cached on disk as `<dir>/<sha256>/`, shared by every instance and kept across restarts), and
 * their core modules compiled once per artifact and memory limit (the limit is written into the
 * module's memory).
 */
export class ComponentCache {
  private readonly transpiling = new Map<string, Promise<TranspiledComponent>>();
  private readonly compiled = new Map<string, Promise<Record<string, WasmModule>>>();
  private readonly jco = jcoVersion();

  constructor(
    private readonly options: {
      dir: string;
      artifacts: ArtifactSource;
      logger: Logger;
      /** Interfaces the host provides (without versions); a component importing others is refused. */
      supportedInterfaces: readonly string[];
    },
  ) {}

  /** The transpiled component (transpiling it now if no earlier run did). */
  transpiled(sha256: string): Promise<TranspiledComponent> {
    let pending = this.transpiling.get(sha256);
    if (pending === undefined) {
      pending = this.load(sha256);
      this.transpiling.set(sha256, pending);
      pending.catch(() => this.transpiling.delete(sha256));
    }
    return pending;
  }

  /** The component's core modules, compiled, with their memory capped at `memoryLimitBytes`. */
  modules(component: TranspiledComponent, memoryLimitBytes: number): Promise<Record<string, WasmModule>> {
    const key = `${component.sha256}:${memoryLimitBytes}`;
    let pending = this.compiled.get(key);
    if (pending === undefined) {
      pending = this.compile(component, memoryLimitBytes);
      this.compiled.set(key, pending);
      pending.catch(() => this.compiled.delete(key));
      while (this.compiled.size > MAX_COMPILED) this.compiled.delete(this.compiled.keys().next().value!);
    } else {
      // Most recently used last.
      this.compiled.delete(key);
      this.compiled.set(key, pending);
    }
    return pending;
  }

  private async load(sha256: string): Promise<TranspiledComponent> {
    const dir = join(this.options.dir, sha256);
    let meta = await this.readMeta(dir);
    if (meta === null) {
      const artifact = await this.options.artifacts.executable(sha256);
      meta = await this.transpile(sha256, artifact, dir);
    }
    const imports = [...new Set(meta.imports.map((name) => name.replace(/@[^@]*$/, '')))];
    if (!meta.exports.some((name) => INCOMING_HANDLER.test(name))) {
      throw new InvocationError(
        ErrorCode.internal,
        `the release's artifact is not a wasi:http/proxy component: it exports ${meta.exports.join(', ') || 'nothing'}, not wasi:http/incoming-handler@0.2`,
      );
    }
    const unsupported = imports.filter((name) => !this.options.supportedInterfaces.includes(name));
    if (unsupported.length > 0) {
      throw new InvocationError(
        ErrorCode.badGateway,
        `the function's component imports ${unsupported.join(', ')}, which the runner does not provide (it provides the wasi:http/proxy world, wasi:cli and a scratch directory through wasi:filesystem)`,
      );
    }
    return { sha256, dir, glueUrl: pathToFileURL(join(dir, 'component.js')).href, coreModules: meta.coreModules, imports };
  }

  private async readMeta(dir: string): Promise<Meta | null> {
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as Meta;
      return meta.layout === LAYOUT_VERSION && meta.jco === this.jco ? meta : null;
    } catch {
      return null;
    }
  }

  private async transpile(sha256: string, artifact: string, dir: string): Promise<Meta> {
    const started = performance.now();
    await mkdir(this.options.dir, { recursive: true });
    const tmp = join(this.options.dir, `.${sha256.slice(0, 12)}-${randomUUID()}`);
    try {
      await mkdir(tmp);
      const request: TranspileRequest = { componentPath: artifact, outDir: tmp };
      const reply = await new Promise<TranspileReply>((resolve, reject) => {
        const worker = new Worker(workerScript('transpile-worker'), { workerData: request });
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the transpiler exited with code ${code}`)));
      });
      if (!reply.ok) {
        throw new InvocationError(ErrorCode.internal, `the release's artifact could not be transpiled as a component: ${reply.message}`);
      }
      const meta: Meta = {
        layout: LAYOUT_VERSION,
        jco: this.jco,
        imports: reply.imports,
        exports: reply.exports,
        coreModules: reply.coreModules,
      };
      // The glue is an ES module; the runner around it is CommonJS.
      await writeFile(join(tmp, 'package.json'), '{"type":"module"}\n');
      await writeFile(join(tmp, 'meta.json'), `${JSON.stringify(meta)}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(tmp, dir).catch(async (error: NodeJS.ErrnoException) => {
        // Another runner on this data directory finished first: use its copy.
        if ((error.code === 'ENOTEMPTY' || error.code === 'EEXIST') && (await this.readMeta(dir)) !== null) return;
        throw error;
      });
      this.options.logger.info(
        { sha256, ms: Math.round(performance.now() - started), coreModules: meta.coreModules.length },
        'component transpiled',
      );
      return meta;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private async compile(component: TranspiledComponent, memoryLimitBytes: number): Promise<Record<string, WasmModule>> {
    const maxPages = Math.max(1, Math.floor(memoryLimitBytes / WASM_PAGE_BYTES));
    const entries = await Promise.all(
      component.coreModules.map(async (name) => {
        const bytes = await readFile(join(component.dir, name));
        let limited: Uint8Array;
        try {
          limited = limitMemory(bytes, maxPages);
        } catch (error) {
          if (error instanceof MemoryLimitError) throw new InvocationError(ErrorCode.functionError, error.message);
          throw error;
        }
        return [name, await WebAssemblyApi.compile(limited)] as const;
      }),
    );
    return Object.fromEntries(entries);
  }
}
