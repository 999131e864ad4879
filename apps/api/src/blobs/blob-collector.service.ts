import type { BlobStore } from '@ignite/blob-store';
import { Inject, Injectable } from '@nestjs/common';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { BLOB_STORE } from '../infra/tokens';
import { BlobsRepository } from './blobs.repository';

/** Deletes blobs nothing references any more (after an app is deleted, or a save that failed). */
@Injectable()
export class BlobCollector {
  constructor(
    private readonly blobs: BlobsRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @InjectPinoLogger(BlobCollector.name) private readonly logger: PinoLogger,
  ) {}

  /** Best effort: a blob that cannot be removed now is logged and left for a later collection. */
  async collect(sha256s: Iterable<string>): Promise<number> {
    let removed = 0;
    for (const sha256 of new Set(sha256s)) {
      try {
        if (await this.blobs.removeIfUnreferenced(sha256, () => this.store.delete(sha256))) removed += 1;
      } catch (error) {
        this.logger.error({ sha256, err: error }, 'blob collection failed');
      }
    }
    return removed;
  }
}
