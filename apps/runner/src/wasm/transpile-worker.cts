/**
 * Transpiles one component with jco in a worker thread (jco is ESM and its transpiler is a big
 * WebAssembly program: running it here keeps the runner's event loop free, and loads jco outside
 * of any CommonJS-only module system). `workerData`: the component's path and the directory to
 * write the output to; the reply: the component's imports and exports, or an error.
 *
 * CommonJS TypeScript with erasable syntax only: Node runs it as is under the tests, `tsc`
 * compiles it to `transpile-worker.cjs` for the built runner.
 */
import type { TranspileReply, TranspileRequest } from './protocol';

const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
const { mkdir, readFile, writeFile } = require('node:fs/promises') as typeof import('node:fs/promises');
const { dirname, join } = require('node:path') as typeof import('node:path');

interface Jco {
  transpile(
    component: Uint8Array,
    options: Record<string, unknown>,
  ): Promise<{ files: Record<string, Uint8Array>; imports: string[]; exports: [string, string][] }>;
}

async function main(request: TranspileRequest): Promise<TranspileReply> {
  const jco = (await import('@bytecodealliance/jco')) as Jco;
  const bytes = await readFile(request.componentPath);
  const output = await jco.transpile(bytes, {
    name: 'component',
    // `instantiate(getCoreModule, imports)`: the runner supplies compiled modules and its host.
    instantiation: 'sync',
    noTypescript: true,
  });
  for (const [name, data] of Object.entries(output.files)) {
    const path = join(request.outDir, name);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, data);
  }
  const coreModules = Object.keys(output.files).filter((name) => name.endsWith('.wasm'));
  return { ok: true, imports: output.imports, exports: output.exports.map(([name]) => name), coreModules };
}

main(workerData as TranspileRequest).then(
  (reply) => parentPort!.postMessage(reply),
  (error: unknown) => parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) } satisfies TranspileReply),
);
