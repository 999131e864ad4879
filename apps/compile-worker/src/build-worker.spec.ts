import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FilesystemBlobStore } from '@ignite/blob-store';
import { JobName, QueueName } from '@ignite/contracts';
import { createPrismaClient, type PrismaClient } from '@ignite/database';
import { createLogger, createRedis } from '@ignite/service-kit';
import {
  repoRoot,
  rustHelloUserSource,
  tarGzOf,
  testDatabaseUrl,
  testRedisUrl,
  uniqueName,
  waitFor,
  writeFunctionSource,
} from '@ignite/testing';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { BuildWorker, cancelChannel } from './build-worker';
import { BuildRepository } from './builds/build-repository';
import { LocalExecutor } from './executors/local-executor';
import { resolveRustToolchain } from './executors/rust-toolchain';
import { BuildPipeline } from './pipeline/build-pipeline';

// Real cargo builds in the real sandbox, with the real queue and database. The dependency cache
// is shared across runs on this machine (as it is across builds in production).
jest.setTimeout(900_000);

const SECRET = 'ignite-test-secret-value-7f3a';

describe('compile worker, end to end with cargo', () => {
  const prefix = uniqueName('ignite-test-cw');
  const dataDir = mkdtempSync(join(tmpdir(), 'ignite-cw-'));
  const blobs = new FilesystemBlobStore(join(dataDir, 'blobs'));
  let prisma: PrismaClient;
  let redis: Redis;
  let queue: Queue;
  let queueConnection: Redis;
  let worker: BuildWorker;
  let orgId: string;

  beforeAll(async () => {
    process.env.DATABASE_PASSWORD_FOR_TEST = SECRET;
    prisma = createPrismaClient(testDatabaseUrl());
    redis = createRedis(testRedisUrl());
    queueConnection = createRedis(testRedisUrl());
    queue = new Queue(QueueName.builds, { connection: queueConnection, prefix });
    const logger = createLogger('compile-worker-test', 'silent');
    const builds = new BuildRepository(prisma, redis, prefix);
    const sdkPath = join(repoRoot, 'sdk', 'ignite-rs', 'ignite');
    const executor = new LocalExecutor({
      toolchain: resolveRustToolchain(process.env.RUST_TOOLCHAIN_DIR),
      sdkWorkspaceDir: resolve(sdkPath, '..'),
      cacheDir: process.env.IGNITE_BUILD_CACHE_DIR ?? join(homedir(), '.cache', 'ignite', 'test-build-cache'),
      sandbox: 'bwrap',
      logMaxBytes: 4 * 1024 * 1024,
    });
    const pipeline = new BuildPipeline(
      builds,
      blobs,
      executor,
      {
        buildsDir: join(dataDir, 'builds'),
        sdkPath,
        archiveLimits: { maxEntries: 1000, maxEntryBytes: 1 << 20, maxTotalBytes: 8 << 20, maxCompressionRatio: 200 },
        buildTimeoutMs: 600_000,
        verifyTimeoutMs: 5000,
        sandbox: 'bwrap',
        wasmHost: { path: join(repoRoot, 'apps', 'runner', 'dist', 'ignite-wasm-host'), timeoutMs: 120_000 },
      },
      logger,
    );
    worker = new BuildWorker({ redisUrl: testRedisUrl(), prefix, concurrency: 1, lockDurationMs: 30_000 }, pipeline, builds, logger);
    await worker.start();
    orgId = (await prisma.org.create({ data: { slug: uniqueName('org') } })).id;
  });

  afterAll(async () => {
    await worker.stop();
    await queue.obliterate({ force: true });
    await queue.close();
    queueConnection.disconnect();
    await prisma.org.delete({ where: { id: orgId } });
    await prisma.$disconnect();
    redis.disconnect();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function build(sourceDir: string, archive?: Buffer, target: 'native' | 'wasm' = 'native') {
    const stored = await blobs.put(archive ?? (await tarGzOf(sourceDir)));
    const app = await prisma.app.create({ data: { orgId, name: uniqueName('app'), rustTarget: target } });
    const row = await prisma.build.create({ data: { appId: app.id, draftRevision: 1, sourceSha256: stored.sha256, target } });
    await queue.add(JobName.build, { buildId: row.id }, { jobId: row.id });
    return row.id;
  }

  async function finished(buildId: string) {
    return waitFor(
      async () => {
        const row = await prisma.build.findUniqueOrThrow({ where: { id: buildId } });
        return ['succeeded', 'failed', 'canceled'].includes(row.status) ? row : undefined;
      },
      590_000,
      `build ${buildId} to finish`,
    );
  }

  async function logOf(buildId: string): Promise<string> {
    const lines = await prisma.buildLogLine.findMany({ where: { buildId }, orderBy: { seq: 'asc' } });
    return lines.map((line) => line.text).join('\n');
  }

  it('builds rust-hello uploaded with ignite = "*" into an artifact that answers with the contract JSON', async () => {
    const buildId = await build(rustHelloUserSource());
    const row = await finished(buildId);

    expect({ status: row.status, error: row.errorSummary }).toEqual({ status: 'succeeded', error: null });
    expect(row.artifactSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(row.targetTriple).toBe('x86_64-unknown-linux-gnu');
    expect(row.toolchain).toMatch(/^rustc \d+\.\d+/);
    expect(row.unpackMs).not.toBeNull();
    expect(row.buildMs).not.toBeNull();
    expect(row.verifyMs).not.toBeNull();
    expect(row.queueWaitMs).not.toBeNull();

    const artifact = await blobs.getPath(row.artifactSha256!);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(artifact, [], {
      env: { PORT: String(port), IGNITE_PROBE_PORT: String(port + 1), IGNITE_FUNCTION_ID: 'org/hello' },
      stdio: 'ignore',
    });
    try {
      const body = await waitFor(async () => {
        const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: JSON.stringify({ message: 'hi there' }) }).catch(
          () => undefined,
        );
        return response ? { status: response.status, json: (await response.json()) as Record<string, unknown> } : undefined;
      });
      expect(body.status).toBe(200);
      expect(body.json).toMatchObject({ message: 'hi there', function_id: 'org/hello' });
      expect(body.json.execution_id).toEqual(expect.any(String));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('fails a build with a compile error and the compiler message at file:line:col', async () => {
    const source = writeFunctionSource('broken', {
      'src/lib.rs':
        'use ignite::prelude::*;\n\n#[ignite::main]\nasync fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {\n    Ok(undefined_value)\n}\n',
    });
    const row = await finished(await build(source));

    expect(row.status).toBe('failed');
    expect(row.errorSummary).toMatch(/src\/lib\.rs:5:8: cannot find value `undefined_value` in this scope/);
    expect(row.diagnostics).toEqual(expect.arrayContaining([expect.stringContaining('undefined_value')]));
    expect(await logOf(row.id)).toContain('error[E0425]');
  });

  it('refuses an archive with a symlink, saying which entry and why', async () => {
    const source = rustHelloUserSource();
    symlinkSync('/etc/passwd', join(source, 'src', 'passwd'));
    const row = await finished(await build(source));

    expect(row.status).toBe('failed');
    expect(row.errorSummary).toMatch(/passwd.*link/i);
    expect(row.artifactSha256).toBeNull();
  });

  it('runs build scripts without the platform environment, the network or the host file system', async () => {
    const source = rustHelloUserSource();
    const hostFile = join(dataDir, 'host-only.txt');
    writeFileSync(hostFile, 'not for builds');
    const probe = writeFunctionSource('probe', {
      'build.rs': [
        'fn main() {',
        '    for (key, value) in std::env::vars() {',
        '        println!("cargo:warning=ENV {key}={value}");',
        '    }',
        '    let net = std::net::TcpStream::connect("127.0.0.1:6379").is_ok();',
        '    println!("cargo:warning=NETWORK {net}");',
        `    let host = std::fs::read(${JSON.stringify(hostFile)}).is_ok() || std::fs::read("/etc/shadow").is_ok();`,
        '    println!("cargo:warning=HOST_FILES {host}");',
        '}',
      ].join('\n'),
    });
    const row = await finished(await build(source, await tarGzOf(mergeInto(source, probe))));
    const log = await logOf(row.id);

    expect(row.status).toBe('succeeded');
    expect(log).toContain('ENV CARGO_PKG_NAME=rust-hello');
    expect(log).not.toContain(SECRET);
    expect(log).not.toMatch(/ENV (DATABASE_URL|REDIS_URL|IGNITE_)/);
    expect(log).toContain('NETWORK false');
    expect(log).toContain('HOST_FILES false');
  });

  it('cancels a running build within seconds', async () => {
    const source = rustHelloUserSource();
    const slow = writeFunctionSource('slow', { 'build.rs': 'fn main() { std::thread::sleep(std::time::Duration::from_secs(300)); }\n' });
    const id = await build(source, await tarGzOf(mergeInto(source, slow)));
    await waitFor(
      async () => {
        const row = await prisma.build.findUniqueOrThrow({ where: { id } });
        if (row.status !== 'running' && row.status !== 'queued')
          throw new Error(`build ended before it could be canceled: ${row.status} ${row.errorSummary}`);
        return (await logOf(id)).includes('Compiling rust-hello') ? true : undefined;
      },
      300_000,
      'the build script to start',
    );

    const requested = Date.now();
    await prisma.build.update({ where: { id }, data: { cancelRequestedAt: new Date() } });
    await redis.publish(cancelChannel(prefix), JSON.stringify({ buildId: id }));
    const row = await finished(id);

    expect(row.status).toBe('canceled');
    expect(Date.now() - requested).toBeLessThan(10_000);
  });

  describe('the wasm target', () => {
    // The very same rust-hello source as above, built with the machine's wasm32-wasip2 toolchain
    // (provisioned by scripts/platform/toolchains.mts), then served as it is by `jco serve`.
    it('builds rust-hello (ignite = "*", no wasm code or dependency of its own) into a wasi:http/proxy component that jco serve runs', async () => {
      const row = await finished(await build(rustHelloUserSource(), undefined, 'wasm'));
      const log = await logOf(row.id);

      expect({ status: row.status, error: row.errorSummary }).toEqual({ status: 'succeeded', error: null });
      expect(row.targetTriple).toBe('wasm32-wasip2');
      expect(row.toolchain).toMatch(/^rustc \d+\.\d+/);
      expect(log).toContain('[lib] crate-type = ["cdylib"]');
      expect(log).toMatch(/component: exports wasi:http\/incoming-handler@0\.2\.\d+; imports wasi:/);
      // The standard library comes prebuilt (a rustup target or the provisioned sysroot): never rebuilt by a build.
      expect(log).not.toMatch(/Compiling (std|core|alloc|compiler_builtins) /);

      const artifact = await blobs.getPath(row.artifactSha256!);
      // A component (layer 1), not a core module.
      expect([...readFileSync(artifact).subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);

      // Precompiled for the wasm host's engine and stored beside it: the row names the file by its sha256.
      const hostKey = execFileSync(join(repoRoot, 'apps', 'runner', 'dist', 'ignite-wasm-host'), ['cache-key'], {
        encoding: 'utf8',
      }).trim();
      const precompiled = await prisma.precompiledComponent.findUniqueOrThrow({
        where: { componentSha256_cacheKey: { componentSha256: row.artifactSha256!, cacheKey: hostKey } },
      });
      const cwasm = readFileSync(await blobs.getPath(precompiled.sha256));
      expect({ size: cwasm.length, magic: [...cwasm.subarray(0, 4)] }).toEqual({ size: precompiled.size, magic: [0x7f, 0x45, 0x4c, 0x46] });
      expect(await prisma.blob.findUnique({ where: { sha256: precompiled.sha256 } })).toMatchObject({ kind: 'precompiled' });
      expect(log).toContain(`precompiled for the wasm host's engine ${hostKey} in `);

      const port = 20000 + Math.floor(Math.random() * 20000);
      const jco = join(repoRoot, 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js');
      // `jco serve` runs the component in a child process of its own, from files in a temporary
      // directory: its own process group (all of it is killed) and a TMPDIR this test removes.
      const jcoTmp = mkdtempSync(join(tmpdir(), 'ignite-jco-serve-'));
      const server = spawn(process.execPath, [jco, 'serve', '--port', String(port), '--host', '127.0.0.1', artifact], {
        stdio: 'ignore',
        detached: true,
        env: { ...process.env, TMPDIR: jcoTmp },
      });
      try {
        const answer = await waitFor(
          async () => {
            const response = await fetch(`http://127.0.0.1:${port}/`, {
              method: 'POST',
              headers: { 'x-ignite-function-id': 'org/hello', 'x-ignite-execution-id': 'exec-wasm-1' },
              body: JSON.stringify({ message: 'hi there' }),
            }).catch(() => undefined);
            return response ? { status: response.status, json: (await response.json()) as Record<string, unknown> } : undefined;
          },
          60_000,
          'jco serve to answer',
        );
        expect(answer).toEqual({ status: 200, json: { message: 'hi there', execution_id: 'exec-wasm-1', function_id: 'org/hello' } });
      } finally {
        process.kill(-server.pid!, 'SIGKILL');
        rmSync(jcoTmp, { recursive: true, force: true });
      }
    });

    it('fails a wasm build with the compiler message when the code does not compile for wasm', async () => {
      const source = rustHelloUserSource();
      writeFileSync(
        join(source, 'src', 'lib.rs'),
        'use ignite::prelude::*;\n\n#[ignite::main]\nasync fn handler(_req: Request, _ctx: Context) -> Result<impl IntoResponse> {\n    let listener = tokio::net::TcpListener::bind("0.0.0.0:1").await?;\n    Ok(json!({ "port": listener.local_addr()?.port() }))\n}\n',
      );
      const row = await finished(await build(source, undefined, 'wasm'));
      expect(row.status).toBe('failed');
      expect(row.errorSummary).toMatch(/src\/lib\.rs:5:\d+: .*net/);
    });
  });
});

/** Copies `build.rs` from `extra` into `base` (a project that already has its sources). */
function mergeInto(base: string, extra: string): string {
  cpSync(join(extra, 'build.rs'), join(base, 'build.rs'));
  return base;
}
