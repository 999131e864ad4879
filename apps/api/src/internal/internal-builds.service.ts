import { randomUUID } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BUILD_ARTIFACT_FILE, BUILD_CONTEXT_FILE, buildExchangeDir } from '@ignite/build-tokens';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { INTERNAL_BUILDS_CONFIG, type InternalBuildsConfig } from './internal-builds.config';
import { InternalBuildsError } from './internal-errors';
import { ReceiveError, receiveToFile } from './receive-artifact';

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * The files behind the internal endpoints, in the data directory shared with the compile worker:
 * the worker writes `<buildId>/context.tar.gz` before it creates the build's Job, and reads
 * `<buildId>/artifact` after the Job completed; this service serves the one and receives the other.
 */
@Injectable()
export class InternalBuildsService {
  private readonly logger = new Logger('InternalBuilds');

  constructor(@Inject(INTERNAL_BUILDS_CONFIG) private readonly config: InternalBuildsConfig) {}

  /** The build context as a stream, with its size. */
  async openContext(buildId: string): Promise<{ stream: Readable; size: number }> {
    const path = join(buildExchangeDir(this.config.dataDir, buildId), BUILD_CONTEXT_FILE);
    const file = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT')
        throw new InternalBuildsError('not_found', `build ${buildId} has no build context (it is not building on the kubernetes executor)`);
      throw error;
    });
    try {
      const { size } = await file.stat();
      return { stream: file.createReadStream(), size };
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /**
   * Receives the artifact into a temporary file next to its final place and renames it there once
   * complete and matching `expectedSha256`: the worker never sees half an artifact. A repeated
   * upload (a retrying client) replaces the previous one.
   */
  async storeArtifact(
    buildId: string,
    body: Readable,
    declared: { sha256: string | undefined; length: number | undefined },
  ): Promise<{ size: number; sha256: string }> {
    const dir = buildExchangeDir(this.config.dataDir, buildId);
    const expected = declared.sha256?.toLowerCase();
    if (expected === undefined || !SHA256.test(expected)) {
      throw new InternalBuildsError(
        'validation_failed',
        'send the artifact\'s sha256 (64 hex digits) in the "x-ignite-artifact-sha256" header',
      );
    }
    const limit = this.config.maxArtifactBytes;
    if (declared.length !== undefined && declared.length > limit) {
      throw new InternalBuildsError(
        'payload_too_large',
        `the artifact (${declared.length} bytes) is larger than the limit of ${limit} bytes`,
        true,
      );
    }
    const isDirectory = await stat(dir).then(
      (info) => info.isDirectory(),
      () => false,
    );
    if (!isDirectory)
      throw new InternalBuildsError(
        'not_found',
        `build ${buildId} is not waiting for an artifact (it is not building on the kubernetes executor)`,
      );

    const partial = join(dir, `${BUILD_ARTIFACT_FILE}.${randomUUID()}.partial`);
    try {
      let received: { size: number; sha256: string };
      try {
        received = await receiveToFile(body, partial, limit);
      } catch (error) {
        if (error instanceof ReceiveError) {
          throw error.problem === 'too-large'
            ? new InternalBuildsError('payload_too_large', error.message, true)
            : new InternalBuildsError('validation_failed', error.message);
        }
        throw error;
      }
      if (received.size === 0) throw new InternalBuildsError('unprocessable', 'the artifact is empty');
      if (received.sha256 !== expected) {
        throw new InternalBuildsError(
          'unprocessable',
          `the artifact's bytes hash to ${received.sha256}, not to the declared ${expected}: the upload was corrupted`,
        );
      }
      await rename(partial, join(dir, BUILD_ARTIFACT_FILE));
      this.logger.log(`build ${buildId}: artifact received (${received.size} bytes, sha256 ${received.sha256})`);
      return received;
    } finally {
      await rm(partial, { force: true });
    }
  }
}
