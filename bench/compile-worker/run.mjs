// Compile worker benchmark: one run, one machine. Prints
//  (a) a cold build through the platform (queue → worker → unpack → prepare → sandboxed cargo →
//      verify → store) next to a plain `cargo build --release` of the same prepared project;
//  (b) a warm build of a second app with the same dependencies next to that app's cold build.
// Cold = an empty cargo target directory; both sides share one pre-filled registry (CARGO_HOME)
// so network speed is not measured. Needs `npm test` (or `npm start`) to have built dist/ and the
// test database: run it as `bash bench/compile-worker/run.sh`.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const root = resolve(import.meta.dirname, '..', '..');
const dist = (app, file) => require(join(root, 'apps', app, 'dist', file));
const { FilesystemBlobStore } = require(join(root, 'packages/blob-store/dist'));
const { createPrismaClient } = require(join(root, 'packages/database/dist'));
const { createLogger, createRedis } = require(join(root, 'packages/service-kit/dist'));
const { rustHelloUserSource, tarGzOf } = require(join(root, 'packages/testing/dist'));
const { Queue } = require('bullmq');
const { BuildWorker } = dist('compile-worker', 'build-worker.js');
const { BuildRepository } = dist('compile-worker', 'builds/build-repository.js');
const { LocalExecutor } = dist('compile-worker', 'executors/local-executor.js');
const { resolveRustToolchain } = dist('compile-worker', 'executors/rust-toolchain.js');
const { BuildPipeline } = dist('compile-worker', 'pipeline/build-pipeline.js');
const { prepareProject } = dist('compile-worker', 'manifest/index.js');

const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ignite_test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/1';
const work = mkdtempSync(join(tmpdir(), 'ignite-bench-cw-'));
const sdkPath = join(root, 'sdk', 'ignite-rs', 'ignite');
const toolchain = resolveRustToolchain(process.env.RUST_TOOLCHAIN_DIR);
const cargoHome = join(work, 'cargo-home');
const prefix = `ignite-bench-${Date.now()}`;

function secondApp() {
  const dir = rustHelloUserSource();
  writeFileSync(join(dir, 'Cargo.toml'), '[package]\nname = "second-app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nignite = "*"\n');
  return dir;
}

/** A plain cargo build of the project the platform would build, with an empty target dir. */
async function plainCargo(source, label) {
  const project = join(work, `plain-${label}`);
  cpSync(source, project, { recursive: true });
  const prepared = await prepareProject(project, { sdkPath, target: 'native' });
  const env = { ...process.env, CARGO_HOME: cargoHome, CARGO_TARGET_DIR: join(work, `plain-target-${label}`) };
  execFileSync(toolchain.cargo, ['fetch', '--manifest-path', join(project, 'Cargo.toml')], { env, stdio: 'ignore' });
  const started = process.hrtime.bigint();
  const result = spawnSync(toolchain.cargo, ['build', '--release', '--offline', '--bin', prepared.binName, '--target', 'x86_64-unknown-linux-gnu'], { cwd: project, env, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`plain cargo build failed for ${label}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main() {
  const prisma = createPrismaClient(databaseUrl);
  const redis = createRedis(redisUrl);
  const queueConnection = createRedis(redisUrl);
  const queue = new Queue('builds', { connection: queueConnection, prefix });
  const blobs = new FilesystemBlobStore(join(work, 'blobs'));
  const org = await prisma.org.create({ data: { slug: prefix } });
  const logger = createLogger('bench', 'silent');
  let worker;

  async function startWorker(cache) {
    mkdirSync(cache, { recursive: true });
    // The platform's cache shares the pre-filled registry with the plain builds (`sources` is
    // the CARGO_HOME its `cargo fetch` writes).
    cpSync(cargoHome, join(cache, 'sources'), { recursive: true });
    const builds = new BuildRepository(prisma, redis, prefix);
    const executor = new LocalExecutor({ toolchain, sdkWorkspaceDir: resolve(sdkPath, '..'), cacheDir: cache, sandbox: 'bwrap', logMaxBytes: 4 << 20 });
    const pipeline = new BuildPipeline(builds, blobs, executor, {
      buildsDir: join(work, 'builds'),
      sdkPath,
      archiveLimits: { maxEntries: 10000, maxEntryBytes: 64 << 20, maxTotalBytes: 256 << 20, maxCompressionRatio: 200 },
      buildTimeoutMs: 1_200_000,
      verifyTimeoutMs: 5000,
      sandbox: 'bwrap',
    }, logger);
    worker = new BuildWorker({ redisUrl, prefix, concurrency: 1, lockDurationMs: 60_000 }, pipeline, builds, logger);
    await worker.start();
  }

  async function platformBuild(source, name) {
    const stored = await blobs.put(await tarGzOf(source));
    const app = await prisma.app.create({ data: { orgId: org.id, name } });
    const build = await prisma.build.create({ data: { appId: app.id, draftRevision: 1, sourceSha256: stored.sha256, target: 'native' } });
    const started = process.hrtime.bigint();
    await queue.add('build', { buildId: build.id }, { jobId: build.id });
    for (;;) {
      const row = await prisma.build.findUniqueOrThrow({ where: { id: build.id } });
      if (row.status === 'succeeded') return Number(process.hrtime.bigint() - started) / 1e6;
      if (row.status === 'failed' || row.status === 'canceled') throw new Error(`platform build ${name} ${row.status}: ${row.errorSummary}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  try {
    // Fill the shared registry once (downloads are not what is measured).
    const warmup = join(work, 'fetch');
    cpSync(rustHelloUserSource(), warmup, { recursive: true });
    await prepareProject(warmup, { sdkPath, target: 'native' });
    execFileSync(toolchain.cargo, ['fetch', '--manifest-path', join(warmup, 'Cargo.toml')], { env: { ...process.env, CARGO_HOME: cargoHome }, stdio: 'ignore' });

    const hello = rustHelloUserSource();
    const second = secondApp();
    console.log(`toolchain: ${toolchain.version}; cores: ${require('node:os').cpus().length}`);

    const plainCold = await plainCargo(hello, 'hello');
    await startWorker(join(work, 'cache-a'));
    const platformCold = await platformBuild(hello, 'hello');
    const platformWarm = await platformBuild(second, 'second-app');
    await worker.stop();
    await startWorker(join(work, 'cache-b'));
    const secondCold = await platformBuild(second, 'second-app-cold');
    await worker.stop();

    const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
    console.log('\n(a) cold build of rust-hello');
    console.log(`    plain cargo build --release:  ${s(plainCold)}`);
    console.log(`    through the platform:         ${s(platformCold)}`);
    console.log(`    platform overhead:            ${(((platformCold - plainCold) / plainCold) * 100).toFixed(1)}%   (goal < 5%)`);
    console.log('\n(b) second app, same dependencies');
    console.log(`    cold (empty cache):           ${s(secondCold)}`);
    console.log(`    warm (shared cache):          ${s(platformWarm)}`);
    console.log(`    warm / cold:                  ${((platformWarm / secondCold) * 100).toFixed(1)}%   (goal < 20%)`);
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    queueConnection.disconnect();
    await prisma.org.delete({ where: { id: org.id } }).catch(() => undefined);
    await prisma.$disconnect();
    redis.disconnect();
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
