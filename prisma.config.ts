// Read by the Prisma CLI (generate; `prisma migrate deploy` where the binary engine exists).
// Local migrations go through scripts/platform/migrations.mts, which reads the same paths.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ignite' },
});
