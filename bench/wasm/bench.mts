/**
 * Benchmark of the runner's wasm instances next to its native ones (run through ./run.sh, which
 * builds what it needs first). Not a test: it prints figures, and fails only if something cannot
 * run at all. Both kinds are driven the way the runner's invocations drive them, through the
 * `FunctionInstance` interface (apps/runner/src/instance.ts), in this one process, on the same
 * rust-hello source built for each target:
 *
 *  (a) cold start: from creating the instance to the end of its first answer, one fresh release
 *      (a new artifact) each run, its artifact on disk:
 *      - wasm, prepared: the release was announced first (`WasmKind.prepare`: transpile,
 *        compile, standby instance), as the runner does on a release announcement;
 *      - wasm, transpiled: the component was transpiled on this disk before, nothing is in the
 *        runner's memory (the runner restarted);
 *      - wasm, new: never seen (includes jco's transpilation, once per artifact and machine);
 *      - native: spawn, readiness, first answer (NativeKind, as the runner starts programs);
 *  (b) warm invocation on one instance, one request at a time: p50, p99;
 *  (c) warm throughput: WARM_INSTANCES wasm instances (one invocation at a time each) against one
 *      native instance with as many connections, closed loops, for DURATION_MS.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import pino from 'pino';

const ROOT = resolve(import.meta.dirname, '../..');
const dist = (path: string) => join(ROOT, 'apps/runner/dist', path);
const { ArtifactCache } = await import(dist('artifacts.js'));
const { WasmKind } = await import(dist('wasm/wasm-instance.js'));
const { NativeKind } = await import(dist('native/native-instance.js'));
const { Spawner } = await import(dist('native/spawner.js'));
const { PortAllocator } = await import(dist('native/ports.js'));
const { MemoryWatcher } = await import(dist('native/memory-watch.js'));

const settings = {
  component: process.env.HELLO_WASM ?? '',
  program: process.env.HELLO_BIN ?? '',
  coldRuns: Number(process.env.COLD_RUNS ?? 30),
  warmRequests: Number(process.env.WARM_REQUESTS ?? 5000),
  durationMs: Number(process.env.DURATION_MS ?? 5000),
  warmInstances: Number(process.env.WARM_INSTANCES ?? cpus().length),
};
const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

// biome-ignore lint/suspicious/noExplicitAny: the runner's classes come from its compiled dist
type Instance = any;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
const ms = (value: number) => `${value.toFixed(2)} ms`;
const sleep = (time: number) => new Promise((done) => setTimeout(done, time));

const BODY = Buffer.from(JSON.stringify({ message: 'hi there' }));
let executions = 0;

/** One invocation through the instance interface, as the runner's `Invocation` makes it. */
function invoke(instance: Instance): Promise<number> {
  const executionId = `bench-${++executions}`;
  return new Promise((done, fail) => {
    let status = 0;
    instance.exchange(
      {
        method: 'POST',
        path: '/',
        headers: ['content-type', 'application/json', 'x-ignite-execution-id', executionId, 'x-ignite-function-id', 'bench/hello'],
        body: BODY,
        executionId,
      },
      {
        start: (code: number) => {
          status = code;
        },
        data: () => true,
        end: () => (status === 200 ? done(status) : fail(new Error(`HTTP ${status}`))),
        error: fail,
      },
    );
  });
}

/** The component with a custom section appended: a new artifact (sha256) that runs the same code. */
function variant(component: Buffer, tag: string): Buffer {
  const name = Buffer.from(tag);
  const payload = Buffer.concat([Buffer.from([name.length]), name]);
  return Buffer.concat([component, Buffer.from([0x00, payload.length]), payload]);
}

function resolved(sha256: string, target: 'wasm' | 'native', id: string) {
  return {
    functionId: `bench/${id}`,
    appId: id,
    release: { id, number: 1, target, artifactSha256: sha256 },
    env: {},
    timeoutMs: 10_000,
    memoryMb: 128,
    configKey: id,
    generation: 1,
  };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ignite-bench-wasm-'));
  const logger = pino({ level: 'silent' });
  const store = new FilesystemBlobStore(join(dataDir, 'blobs'));
  const artifacts = new ArtifactCache(store, join(dataDir, 'runner', 'bin'));
  const component = await readFile(settings.component);
  const wasmOptions = {
    artifacts,
    logger,
    cacheDir: join(dataDir, 'runner', 'wasm'),
    instancesDir: join(dataDir, 'runner', 'instances'),
    startTimeoutMs: 30_000,
    stopGraceMs: 2_000,
    logLinesPerSecond: 1000,
  };
  const spawner = new Spawner(logger);
  await spawner.start();
  const memory = new MemoryWatcher(100);
  const native = new NativeKind({
    artifacts,
    spawner,
    ports: new PortAllocator(21000, 21999),
    memory,
    logger,
    instancesDir: join(dataDir, 'runner', 'instances'),
    prlimitPath: null,
    addressSpaceHeadroomMb: 0,
    startTimeoutMs: 10_000,
    stopGraceMs: 2_000,
    maxInFlight: 64,
    logLinesPerSecond: 1000,
  });
  const kinds: { close(): Promise<void> }[] = [];
  const newWasmKind = (extra: Record<string, unknown> = {}) => {
    const kind = new WasmKind({ ...wasmOptions, ...extra });
    kinds.push(kind);
    return kind;
  };

  const lines: string[] = [];
  const report = (line: string) => {
    lines.push(line);
    log(line);
  };
  try {
    report(`component: ${(await stat(settings.component)).size} bytes (${settings.component})`);
    report(`native program: ${(await stat(settings.program)).size} bytes (${settings.program})`);

    // ------------------------------------------------------------ (a) cold starts
    const cold = async (label: string, run: (i: number) => Promise<number>) => {
      const times: number[] = [];
      for (let i = 0; i < settings.coldRuns; i++) {
        await sleep(100); // background work of the previous run (standby refills, exits) settles
        times.push(await run(i));
      }
      report(
        `cold start, ${label}: p50 ${ms(percentile(times, 50))}, p90 ${ms(percentile(times, 90))}, min ${ms(Math.min(...times))} (${times.length} runs)`,
      );
      return percentile(times, 50);
    };
    const firstAnswer = async (kind: Instance, fn: ReturnType<typeof resolved>) => {
      const started = performance.now();
      const instance = kind.create({ id: randomUUID(), fn, release: fn.release });
      await instance.start();
      await invoke(instance);
      const elapsed = performance.now() - started;
      instance.kill('bench: next run');
      return elapsed;
    };

    const prepared = newWasmKind();
    await sleep(200);
    const preparedP50 = await cold('wasm, prepared release (standby instance)', async (i) => {
      const { sha256 } = await store.put(variant(component, `prepared-${i}-${randomUUID()}`));
      const fn = resolved(sha256, 'wasm', `prepared-${i}`);
      await prepared.prepare(fn);
      await sleep(50);
      return firstAnswer(prepared, fn);
    });
    await cold('wasm, transpiled on disk, runner memory cold', async (i) => {
      const { sha256 } = await store.put(variant(component, `restart-${i}-${randomUUID()}`));
      const fn = resolved(sha256, 'wasm', `restart-${i}`);
      const first = newWasmKind({ standbyInstances: 0 });
      await first.components.transpiled(sha256);
      await first.close();
      const kind = newWasmKind({ standbyInstances: 0 });
      await sleep(150); // its spare worker thread is up
      const elapsed = await firstAnswer(kind, fn);
      await kind.close();
      return elapsed;
    });
    const unseen = newWasmKind({ standbyInstances: 0 });
    await cold('wasm, never seen (jco transpile included)', async (i) => {
      const { sha256 } = await store.put(variant(component, `new-${i}-${randomUUID()}`));
      return firstAnswer(unseen, resolved(sha256, 'wasm', `new-${i}`));
    });
    const programSha = (await store.put({ path: settings.program })).sha256;
    await cold('native (spawn, readiness, first answer)', (i) => firstAnswer(native, resolved(programSha, 'native', `native-${i}`)));
    report(`cold start goal for a prepared wasm release: < 5 ms, measured p50 ${ms(preparedP50)}`);

    // ------------------------------------------------------------ (b) warm latency
    const warm = async (label: string, instance: Instance) => {
      for (let i = 0; i < 500; i++) await invoke(instance);
      const times: number[] = [];
      for (let i = 0; i < settings.warmRequests; i++) {
        const started = performance.now();
        await invoke(instance);
        times.push(performance.now() - started);
      }
      report(`warm, one at a time, ${label}: p50 ${ms(percentile(times, 50))}, p99 ${ms(percentile(times, 99))}`);
    };
    const wasmKind = newWasmKind({ standbyInstances: 0 });
    const wasmFn = resolved((await store.put(component)).sha256, 'wasm', 'warm');
    const wasmInstances: Instance[] = [];
    for (let i = 0; i < settings.warmInstances; i++) {
      const instance = wasmKind.create({ id: `warm-${i}`, fn: wasmFn, release: wasmFn.release });
      await instance.start();
      wasmInstances.push(instance);
    }
    const nativeFn = resolved(programSha, 'native', 'warm-native');
    const nativeInstance = native.create({ id: 'warm-native', fn: nativeFn, release: nativeFn.release });
    await nativeInstance.start();
    await warm('wasm', wasmInstances[0]);
    await warm('native', nativeInstance);

    // ------------------------------------------------------------ (c) warm throughput
    const throughput = async (label: string, lanes: Instance[]) => {
      let count = 0;
      const until = performance.now() + settings.durationMs;
      const started = performance.now();
      await Promise.all(
        lanes.map(async (instance) => {
          while (performance.now() < until) {
            await invoke(instance);
            count++;
          }
        }),
      );
      const rps = count / ((performance.now() - started) / 1000);
      report(`warm throughput, ${label}: ${rps.toFixed(0)} invocations/s`);
    };
    await throughput(`wasm, ${wasmInstances.length} instance(s), one invocation each at a time`, wasmInstances);
    await throughput(
      `native, 1 instance, ${wasmInstances.length} concurrent invocations`,
      wasmInstances.map(() => nativeInstance),
    );
    await throughput(`native, 1 instance, 16 concurrent invocations`, new Array(16).fill(nativeInstance));

    for (const instance of wasmInstances) instance.kill('bench over');
    nativeInstance.kill('bench over');
  } finally {
    for (const kind of kinds) await kind.close();
    await native.settled();
    await spawner.close();
    memory.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
