// Prisma migrations without Prisma's binary schema engine (which cannot be downloaded on these
// machines): the same engine compiled to WebAssembly, driven through the pg driver adapter. The
// migrations folder and the `_prisma_migrations` table stay in Prisma's own format, so
// `prisma migrate deploy` works unchanged wherever the binary engine exists.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { ProvisionError, say } from './log.mts';

interface MigrationPaths {
  schemaPath: string;
  migrationsDir: string;
}

export function migrationPaths(root: string): MigrationPaths {
  return { schemaPath: join(root, 'prisma', 'schema.prisma'), migrationsDir: join(root, 'prisma', 'migrations') };
}

const FILTERS = { externalTables: [] as string[], externalEnums: [] as string[] };

/**
 * Discrete connection fields, not a connection string: the adapter makes its shadow database by
 * overriding `database`, which a connection string would silently win over.
 */
function poolConfig(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

type PoolConfig = ReturnType<typeof poolConfig>;

async function adminQuery(config: PoolConfig, sql: string): Promise<void> {
  const client = new pg.Client({ ...config, database: 'postgres' });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

/**
 * A pool whose results report Postgres' one-byte `"char"` columns (which the catalog queries of
 * schema introspection return) as text: the pg adapter has no mapping for that type and refuses
 * the whole result. The values are single characters either way.
 */
function introspectablePool(config: PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
  (pool as unknown as { query: unknown }).query = async (...args: unknown[]) => {
    const result = await query(...args);
    for (const field of result.fields ?? []) {
      if (field.dataTypeID === PG_CHAR_OID) field.dataTypeID = PG_TEXT_OID;
    }
    return result;
  };
  return pool;
}

/**
 * The pg adapter factory with a shadow database that is dropped after its pool is closed: the
 * stock one drops it while its own connection is still open, which Postgres refuses.
 */
class ShadowSafePg {
  readonly provider = 'postgres' as const;
  readonly adapterName: string;
  readonly #config: PoolConfig;
  readonly #inner: PrismaPg;

  constructor(config: PoolConfig) {
    this.#config = config;
    this.#inner = new PrismaPg(introspectablePool(config), { disposeExternalPool: true });
    this.adapterName = this.#inner.adapterName;
  }

  connect() {
    return this.#inner.connect();
  }

  async connectToShadowDb() {
    const name = `ignite_shadow_${randomUUID().replaceAll('-', '')}`;
    await adminQuery(this.#config, `create database ${pg.escapeIdentifier(name)}`);
    const shadow = await new PrismaPg(introspectablePool({ ...this.#config, database: name }), { disposeExternalPool: true }).connect();
    const closePool = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await closePool();
      await adminQuery(this.#config, `drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    };
    return shadow;
  }
}

async function openEngine(url: string, schemaPath: string) {
  const { SchemaEngine } = await import('@prisma/schema-engine-wasm');
  const adapter = bindMigrationAwareSqlAdapterFactory(new ShadowSafePg(poolConfig(url)));
  const datamodel = readFileSync(schemaPath, 'utf8');
  return SchemaEngine.new({ datamodels: [[schemaPath, datamodel]] }, () => undefined, adapter);
}

function loadMigrations(migrationsDir: string) {
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  const directories = existsSync(migrationsDir)
    ? readdirSync(migrationsDir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name)
        .sort()
    : [];
  return {
    baseDir: migrationsDir,
    lockfile: { path: 'migration_lock.toml', content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: directories.map((name) => {
      const file = join(migrationsDir, name, 'migration.sql');
      return {
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: existsSync(file)
            ? { tag: 'ok' as const, value: readFileSync(file, 'utf8') }
            : { tag: 'error' as const, value: `${file} is missing` },
        },
      };
    }),
  };
}

/** Applies pending migrations to the database at `url`; returns the names it applied. */
export async function applyMigrations(root: string, url: string): Promise<string[]> {
  const { schemaPath, migrationsDir } = migrationPaths(root);
  const engine = await openEngine(url, schemaPath);
  try {
    const result = await engine.applyMigrations({ migrationsList: loadMigrations(migrationsDir), filters: FILTERS });
    return result.appliedMigrationNames;
  } catch (error) {
    throw new ProvisionError(`Applying migrations to ${new URL(url).pathname.slice(1)} failed: ${(error as Error).message}`);
  } finally {
    engine.free();
  }
}

function timestamp(date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}`;
}

/**
 * Writes a new migration with the SQL that takes the existing migrations to the current schema.
 * The engine replays the existing migrations on a throw-away shadow database (the pg adapter
 * creates and drops it), the way `prisma migrate dev` does.
 */
export async function createMigration(root: string, url: string, name: string): Promise<string | undefined> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new ProvisionError(`Migration name "${name}" must be lower-case letters, digits and _.`, 'npm run db:migration -- add_something');
  }
  const { schemaPath, migrationsDir } = migrationPaths(root);
  const migrations = loadMigrations(migrationsDir);
  const datamodel = { path: schemaPath, content: readFileSync(schemaPath, 'utf8') };
  const engine = await openEngine(url, schemaPath);
  let script: string;
  try {
    const diff = await engine.diff({
      from: migrations.migrationDirectories.length === 0 ? { tag: 'empty' } : { tag: 'migrations', ...migrations },
      to: { tag: 'schemaDatamodel', files: [datamodel] },
      script: true,
      exitCode: null,
      filters: FILTERS,
    });
    script = diff.stdout ?? '';
  } catch (error) {
    throw new ProvisionError(`Computing the migration failed: ${(error as Error).message.split('\n').slice(0, 6).join(' ')}`);
  } finally {
    engine.free();
  }
  if (!script.trim() || script.includes('This is an empty migration')) {
    say('The schema matches the migrations; no migration written.');
    return undefined;
  }
  const dirName = `${timestamp()}_${name}`;
  mkdirSync(join(migrationsDir, dirName), { recursive: true });
  writeFileSync(join(migrationsDir, dirName, 'migration.sql'), script);
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  if (!existsSync(lockPath)) {
    writeFileSync(
      lockPath,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
    );
  }
  return dirName;
}
