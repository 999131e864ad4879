// Prisma CLI configuration of the platform image's migrate role (docker/platform.Dockerfile):
// the repository's schema and migrations as copied into the image, the database from DATABASE_URL.
import { defineConfig } from 'prisma/config';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is not set: the migrate role applies prisma/migrations to that database');

export default defineConfig({
  schema: '/app/prisma/schema.prisma',
  migrations: { path: '/app/prisma/migrations' },
  datasource: { url },
});
