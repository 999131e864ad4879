import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';
import { blobLockKey } from './blob-lock';

@Injectable()
export class BlobsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * Under the blob's lock: when no draft, build or release references `sha256` any more, runs
   * `remove` (which deletes the bytes) and forgets the blob. Resolves with whether it was removed.
   */
  async removeIfUnreferenced(sha256: string, remove: () => Promise<void>): Promise<boolean> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${blobLockKey(sha256)}, 0))`;
        // One after another: a transaction is one connection (see AppsRepository.delete).
        const drafts = await tx.draft.count({ where: { sourceSha256: sha256 } });
        const builds = await tx.build.count({ where: { OR: [{ sourceSha256: sha256 }, { artifactSha256: sha256 }] } });
        const releases = await tx.release.count({ where: { artifactSha256: sha256 } });
        if (drafts + builds + releases > 0) return false;
        await remove();
        await tx.blob.deleteMany({ where: { sha256 } });
        return true;
      },
      { maxWait: 10_000, timeout: 30_000 },
    );
  }
}
