import { testDatabaseUrl, uniqueName } from '@ignite/testing';
import { createPrismaClient, type PrismaClient } from './client';

describe('Prisma against the real Postgres', () => {
  let prisma: PrismaClient;

  beforeAll(() => {
    prisma = createPrismaClient(testDatabaseUrl());
  });

  afterAll(async () => {
    await prisma.$disconnect();
  });

  it('writes an org with an app and reads them back', async () => {
    const slug = uniqueName('org');
    const created = await prisma.org.create({
      data: { slug, apps: { create: { name: 'hello', rustTarget: 'wasm', env: { GREETING: 'hi' } } } },
      include: { apps: true },
    });

    const read = await prisma.org.findUniqueOrThrow({ where: { slug }, include: { apps: true } });

    expect(read.id).toBe(created.id);
    expect(read.apps).toHaveLength(1);
    expect(read.apps[0]).toMatchObject({ name: 'hello', runtime: 'rust', rustTarget: 'wasm', env: { GREETING: 'hi' } });
    await prisma.org.delete({ where: { id: created.id } });
  });

  it('refuses a second app with the same name in the same org', async () => {
    const org = await prisma.org.create({ data: { slug: uniqueName('org') } });
    await prisma.app.create({ data: { orgId: org.id, name: 'dup' } });

    await expect(prisma.app.create({ data: { orgId: org.id, name: 'dup' } })).rejects.toMatchObject({ code: 'P2002' });
    await prisma.org.delete({ where: { id: org.id } });
  });

  it('numbers releases uniquely per app', async () => {
    const org = await prisma.org.create({ data: { slug: uniqueName('org') } });
    const app = await prisma.app.create({ data: { orgId: org.id, name: 'rel' } });
    const build = await prisma.build.create({
      data: { appId: app.id, draftRevision: 1, sourceSha256: 'a'.repeat(64), target: 'native', status: 'succeeded' },
    });
    const release = { appId: app.id, buildId: build.id, target: 'native' as const, artifactSha256: 'b'.repeat(64), artifactSize: 1 };
    await prisma.release.create({ data: { ...release, number: 1 } });

    await expect(prisma.release.create({ data: { ...release, number: 1 } })).rejects.toMatchObject({ code: 'P2002' });
    await prisma.org.delete({ where: { id: org.id } });
  });
});

describe('Prisma with prepared statements', () => {
  /** The statements the querying connection has prepared, the query itself among them when it is prepared. */
  const prepared = (prisma: PrismaClient) =>
    prisma.$queryRaw<{ name: string }[]>`SELECT name FROM pg_prepared_statements WHERE statement LIKE '%pg_prepared_statements%'`;

  it('prepares each statement once per connection when asked to, and answers the same', async () => {
    const named = createPrismaClient(testDatabaseUrl(), { preparedStatements: true });
    const plain = createPrismaClient(testDatabaseUrl());
    try {
      const first = await prepared(named);
      expect(first).toHaveLength(1);
      expect(first[0]?.name).toMatch(/^ignite_[0-9a-f]{32}$/);
      // Again on a connection that has it: same name, and still the right answer.
      expect(await prepared(named)).toEqual(first);
      expect(await named.$queryRaw`SELECT ${41}::int + 1 AS answer`).toEqual([{ answer: 42 }]);
      expect(await plain.$queryRaw`SELECT ${41}::int + 1 AS answer`).toEqual([{ answer: 42 }]);
      expect(await prepared(plain)).toEqual([]);
    } finally {
      await Promise.all([named.$disconnect(), plain.$disconnect()]);
    }
  });
});
