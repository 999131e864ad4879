import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ArchiveLimits, ArchiveRejectedError, sniffArchiveFormat, unpackArchive } from '@ignite/archive';
import type { BlobStore } from '@ignite/blob-store';
import { ManifestError, prepareProject } from '@ignite/function-manifest';
import type { Logger } from '@ignite/service-kit';
import type { BuildRepository } from '../builds/build-repository';
import { type BuildExecutor, BuildFailure } from '../executors/build-executor';
import { BuildLog } from './build-log';
import { precompileComponent } from './precompile-component';
import { assertNativeExecutable, verifyNativeStarts, verifyWasmComponent } from './verify-artifact';

export interface BuildPipelineOptions {
  buildsDir: string;
  sdkPath: string;
  archiveLimits: ArchiveLimits;
  buildTimeoutMs: number;
  verifyTimeoutMs: number;
  sandbox: 'bwrap' | 'none';
  /** The wasm host (`ignite-wasm-host`) that precompiles components, and how long it may take. */
  wasmHost: { path: string; timeoutMs: number };
}

export type PipelineResult = 'succeeded' | 'failed' | 'canceled' | 'skipped' | 'superseded';

/**
 * One build, from the draft's archive to a verified artifact in the blob store:
 * unpack → prepare the manifest → build → verify → store (a wasm component also precompiled for
 * the wasm host's engine, stored beside it). Failures of the user's project end the
 * build with a reason; failures of the platform (database, store) throw, so BullMQ retries the job.
 */
export class BuildPipeline {
  constructor(
    private readonly builds: BuildRepository,
    private readonly blobs: BlobStore,
    private readonly executor: BuildExecutor,
    private readonly options: BuildPipelineOptions,
    private readonly logger: Logger,
  ) {}

  async run(buildId: string, signal: AbortSignal): Promise<PipelineResult> {
    const claim = await this.builds.claim(buildId, this.executor.name);
    if ('skipped' in claim) {
      this.logger.info({ buildId, reason: claim.skipped }, 'build skipped');
      return 'skipped';
    }
    const build = claim.claimed;
    const log = new BuildLog(build.logLines, (lines) => this.builds.appendLogs(build.id, lines));
    const workDir = join(this.options.buildsDir, build.id);
    const precompileDir = join(this.options.buildsDir, `${build.id}.precompiled`);
    const timings: { unpackMs?: number; buildMs?: number; verifyMs?: number } = {};
    /** A wasm component's precompiled form, stored once the component is. */
    let precompiled: { path: string; cacheKey: string; ms: number } | null = null;
    try {
      if (build.attempt > 1) log.line('system', `attempt ${build.attempt}: the previous worker stopped before finishing`);
      await rm(workDir, { recursive: true, force: true });
      await mkdir(join(workDir, 'src'), { recursive: true });

      let started = Date.now();
      const archive = await this.blobs.getPath(build.sourceSha256);
      const format = sniffArchiveFormat(await readHead(archive));
      if (!format)
        throw new ArchiveRejectedError('unreadable', undefined, 'the source archive is neither tar.gz nor zip; save the draft again');
      const unpacked = await unpackArchive(archive, format, join(workDir, 'src'), this.options.archiveLimits);
      log.line('system', `unpacked ${unpacked.entries} entries (${unpacked.totalBytes} bytes)`);
      const project = await prepareProject(unpacked.projectDir, { sdkPath: this.options.sdkPath, target: build.target });
      for (const note of project.notes) log.line('system', note);
      timings.unpackMs = Date.now() - started;

      started = Date.now();
      const outputPath = join(workDir, 'out', project.binName);
      const outcome = await this.executor.build(
        {
          buildId: build.id,
          workDir,
          projectDir: unpacked.projectDir,
          binName: project.binName,
          crateKind: project.crateKind,
          target: build.target,
          outputPath,
          timeoutMs: this.options.buildTimeoutMs,
        },
        (stream, text) => log.line(stream, text),
        signal,
      );
      timings.buildMs = Date.now() - started;

      started = Date.now();
      if (build.target === 'wasm') {
        const world = await verifyWasmComponent(outputPath, { timeoutMs: this.options.verifyTimeoutMs });
        log.line('system', `component: exports ${world.exports.join(', ')}; imports ${world.imports.join(', ')}`);
        // Part of verifying: a component Wasmtime refuses is no release. Sandboxed where the build was.
        const precompileStarted = Date.now();
        // Not in the build's directory: that is the build sandbox's uid's, and nothing of the build
        // may put a file (or a link) where the platform's file goes.
        await rm(precompileDir, { recursive: true, force: true });
        await mkdir(precompileDir, { mode: 0o700 });
        const path = join(precompileDir, 'component.cwasm');
        const { cacheKey } = await precompileComponent(outputPath, path, {
          host: this.options.wasmHost.path,
          timeoutMs: this.options.wasmHost.timeoutMs,
          sandbox: this.executor.startCheckHere ? this.options.sandbox : 'none',
        });
        precompiled = { path, cacheKey, ms: Date.now() - precompileStarted };
      } else {
        await assertNativeExecutable(outputPath);
        if (this.executor.startCheckHere) {
          await verifyNativeStarts(outputPath, { timeoutMs: this.options.verifyTimeoutMs, sandbox: this.options.sandbox });
        }
      }
      timings.verifyMs = Date.now() - started;

      const stored = await this.blobs.put({ path: outputPath });
      await this.builds.recordArtifactBlob(stored.sha256, stored.size);
      log.line('system', `artifact ${stored.sha256} (${stored.size} bytes) verified and stored`);
      if (precompiled !== null) {
        const compiled = await this.blobs.put({ path: precompiled.path });
        await this.builds.recordPrecompiled(stored.sha256, precompiled.cacheKey, compiled.sha256, compiled.size);
        log.line(
          'system',
          `precompiled for the wasm host's engine ${precompiled.cacheKey} in ${precompiled.ms} ms: ${compiled.sha256} (${compiled.size} bytes), stored`,
        );
      }
      await log.close();
      const finished = await this.builds.finish(build, 'succeeded', {
        ...timings,
        artifactSha256: stored.sha256,
        artifactSize: stored.size,
        toolchain: outcome.toolchain,
        targetTriple: outcome.targetTriple,
        errorSummary: null,
      });
      return finished ? 'succeeded' : 'superseded';
    } catch (error) {
      const failure = describeFailure(error);
      if (!failure) throw error;
      log.line('system', failure.status === 'canceled' ? 'build canceled' : `build failed: ${failure.message}`);
      await log.close();
      const finished = await this.builds.finish(build, failure.status, {
        ...timings,
        errorSummary: failure.message,
        diagnostics: failure.diagnostics,
      });
      return finished ? failure.status : 'superseded';
    } finally {
      await log.close();
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      await rm(precompileDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }
}

async function readHead(path: string): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await file.read(head, 0, 8, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function describeFailure(error: unknown): { status: 'failed' | 'canceled'; message: string; diagnostics: string[] } | undefined {
  if (error instanceof BuildFailure) {
    return { status: error.kind === 'canceled' ? 'canceled' : 'failed', message: error.message, diagnostics: error.diagnostics };
  }
  if (error instanceof ArchiveRejectedError || error instanceof ManifestError) {
    return { status: 'failed', message: error.message, diagnostics: [] };
  }
  return undefined;
}
