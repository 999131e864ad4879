import { type ApiKeyModel, PrismaClient } from '@ignite/database';
import { Injectable } from '@nestjs/common';

export interface KeyOwner {
  keyId: string;
  orgId: string;
  orgSlug: string;
  lastUsedAt: Date | null;
}

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** The unrevoked key with this hash and its org, or undefined. */
  async findActiveByHash(hash: string): Promise<KeyOwner | undefined> {
    const key = await this.prisma.apiKey.findUnique({
      where: { hash },
      select: { id: true, revokedAt: true, lastUsedAt: true, org: { select: { id: true, slug: true } } },
    });
    if (!key || key.revokedAt) return undefined;
    return { keyId: key.id, orgId: key.org.id, orgSlug: key.org.slug, lastUsedAt: key.lastUsedAt };
  }

  /** Sets lastUsedAt unless it is already more recent than `notBefore` (so at most one write a minute). */
  async touch(keyId: string, now: Date, notBefore: Date): Promise<void> {
    await this.prisma.apiKey.updateMany({
      where: { id: keyId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: notBefore } }] },
      data: { lastUsedAt: now },
    });
  }

  async ensureOrg(slug: string): Promise<{ id: string; slug: string }> {
    return this.prisma.org.upsert({ where: { slug }, create: { slug }, update: {}, select: { id: true, slug: true } });
  }

  async create(orgId: string, name: string, prefix: string, hash: string): Promise<ApiKeyModel> {
    return this.prisma.apiKey.create({ data: { orgId, name, prefix, hash } });
  }

  async find(orgId: string, keyId: string): Promise<ApiKeyModel | undefined> {
    return (await this.prisma.apiKey.findFirst({ where: { id: keyId, orgId } })) ?? undefined;
  }

  async list(orgId: string): Promise<ApiKeyModel[]> {
    return this.prisma.apiKey.findMany({ where: { orgId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  /** Revokes the org's key (once: a revoked key keeps its first revokedAt); undefined when the org has no such key. */
  async revoke(orgId: string, keyId: string, now: Date): Promise<ApiKeyModel | undefined> {
    await this.prisma.apiKey.updateMany({ where: { id: keyId, orgId, revokedAt: null }, data: { revokedAt: now } });
    return (await this.prisma.apiKey.findFirst({ where: { id: keyId, orgId } })) ?? undefined;
  }
}
