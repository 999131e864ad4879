import type { DraftModel } from '@ignite/database';
import { PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';
import { blobLockKey } from '../blobs/blob-lock';

export interface DraftContent {
  sha256: string;
  size: number;
  format: 'tar.gz' | 'zip';
}

@Injectable()
export class DraftsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async find(appId: string): Promise<DraftModel | null> {
    return this.prisma.draft.findUnique({ where: { appId } });
  }

  /**
   * Records the archive as the app's draft: revision 1 for the first save, one more for each
   * save after it. Under the app's row lock (saves of one app are serialized) and the blob's
   * lock (a collection cannot remove the bytes between `ensureStored` and the commit).
   * The org's drafts, this one included, may hold at most `maxOrgBytes` (under the org's row
   * lock too). Resolves with the draft and the archive it replaced, `{ overQuota }` with what the
   * org's other drafts hold when this one does not fit, or undefined when the app no longer exists.
   */
  async save(
    orgId: string,
    appId: string,
    content: DraftContent,
    maxOrgBytes: number,
    ensureStored: () => Promise<void>,
  ): Promise<{ draft: DraftModel; previousSha256: string | undefined } | { overQuota: number } | undefined> {
    return this.prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM orgs WHERE id = ${orgId}::uuid FOR UPDATE`;
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM apps WHERE id = ${appId}::uuid FOR UPDATE`;
        if (locked.length === 0) return undefined;
        const others = await tx.draft.aggregate({ where: { app: { orgId }, appId: { not: appId } }, _sum: { size: true } });
        const held = others._sum.size ?? 0;
        if (held + content.size > maxOrgBytes) return { overQuota: held };
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${blobLockKey(content.sha256)}, 0))`;
        await ensureStored();
        await tx.blob.upsert({
          where: { sha256: content.sha256 },
          create: { sha256: content.sha256, kind: 'source', size: content.size },
          update: {},
        });
        const previous = await tx.draft.findUnique({ where: { appId }, select: { sourceSha256: true } });
        const draft = await tx.draft.upsert({
          where: { appId },
          create: { appId, revision: 1, sourceSha256: content.sha256, size: content.size, format: content.format },
          update: { revision: { increment: 1 }, sourceSha256: content.sha256, size: content.size, format: content.format },
        });
        return { draft, previousSha256: previous?.sourceSha256 };
      },
      { maxWait: 10_000, timeout: 120_000 },
    );
  }
}
