// Makes sure Postgres and Redis are there. The platform manages them only at their default,
// local URLs (install from Debian when missing, start when stopped); any other URL is the
// operator's service, and an unreachable one is an error that names it.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { aptInstall, capture } from './exec.mts';
import { ProvisionError, say } from './log.mts';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ignite';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

function isLocal(url: URL, defaultPort: string): boolean {
  return LOCAL_HOSTS.has(url.hostname) && (url.port || defaultPort) === defaultPort;
}

function redact(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return raw;
  }
}

// ---------------------------------------------------------------- Postgres

type PgProbe = { ok: true } | { ok: false; reason: 'unreachable' | 'auth' | 'other'; message: string };

async function probePostgres(url: string): Promise<PgProbe> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return { ok: true };
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { code?: string };
    const message = err.message;
    if (err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || /timeout/i.test(message)) {
      return { ok: false, reason: 'unreachable', message };
    }
    if (err.code === '28P01' || err.code === '28000' || /password|authentication/i.test(message)) {
      return { ok: false, reason: 'auth', message };
    }
    return { ok: false, reason: 'other', message };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function debianClusters(): { version: string; name: string; status: string }[] {
  const listed = capture('pg_lsclusters', ['--no-header']);
  if (listed.code !== 0) return [];
  return listed.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length >= 4)
    .map(([version, name, , status]) => ({ version: version!, name: name!, status: status! }));
}

function installedPostgresVersion(): string | undefined {
  if (!existsSync('/usr/lib/postgresql')) return undefined;
  return readdirSync('/usr/lib/postgresql')
    .filter((v) => existsSync(`/usr/lib/postgresql/${v}/bin/postgres`))
    .sort((a, b) => Number(b) - Number(a))[0];
}

/** Lets local connections over loopback in without a password: this is a single-machine dev cluster. */
function trustLoopback(version: string, name: string): void {
  const hba = `/etc/postgresql/${version}/${name}/pg_hba.conf`;
  const current = readFileSync(hba, 'utf8');
  const marker = '# ignite: loopback trust';
  if (current.includes(marker)) return;
  const lines = `${marker}\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n`;
  writeFileSync(hba, lines + current);
  say(`Postgres: allowed password-less connections from loopback only (${hba})`);
}

async function startLocalPostgres(): Promise<void> {
  let version = installedPostgresVersion();
  if (!version) {
    say('Postgres is not installed; installing it from Debian packages (postgresql)');
    if (!(await aptInstall(['postgresql']))) {
      throw new ProvisionError('Postgres is not installed and could not be installed.', 'apt-get update && apt-get install -y postgresql');
    }
    version = installedPostgresVersion();
    if (!version) throw new ProvisionError('Postgres was installed but no server binary was found.', 'apt-get install -y postgresql');
  }
  let cluster = debianClusters().find((c) => c.version === version) ?? debianClusters()[0];
  if (!cluster) {
    say(`Postgres ${version}: creating cluster "main"`);
    const created = capture('pg_createcluster', [version, 'main', '--port', '5432']);
    if (created.code !== 0)
      throw new ProvisionError(`Could not create a Postgres cluster: ${created.stderr.trim()}`, `pg_createcluster ${version} main --start`);
    cluster = { version, name: 'main', status: 'down' };
  }
  trustLoopback(cluster.version, cluster.name);
  if (cluster.status === 'online') {
    capture('pg_ctlcluster', [cluster.version, cluster.name, 'reload']);
    return;
  }
  say(`Postgres ${cluster.version}/${cluster.name}: starting`);
  const started = capture('pg_ctlcluster', [cluster.version, cluster.name, 'start']);
  if (started.code !== 0) {
    throw new ProvisionError(
      `Postgres did not start: ${(started.stderr || started.stdout).trim()}`,
      `pg_ctlcluster ${cluster.version} ${cluster.name} start`,
    );
  }
}

async function createDatabaseIfMissing(url: string): Promise<void> {
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!database)
    throw new ProvisionError(
      `The database URL ${redact(url)} names no database.`,
      'set DATABASE_URL to postgresql://USER@HOST:PORT/DATABASE',
    );
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (found.rowCount === 0) {
      await client.query(`create database ${pg.escapeIdentifier(database)}`);
      say(`Postgres: created database ${database}`);
    }
  } finally {
    await client.end();
  }
}

export async function ensurePostgres(urls: string[]): Promise<void> {
  const [primary] = urls;
  if (!primary) return;
  let probe = await probePostgres(primary);
  if (!probe.ok) {
    const managed = isLocal(new URL(primary), '5432');
    if (!managed) {
      throw new ProvisionError(
        `Postgres is not reachable at ${redact(primary)}: ${probe.message}`,
        'start that server, or unset DATABASE_URL to use the local default',
      );
    }
    await startLocalPostgres();
    for (let attempt = 0; attempt < 50; attempt++) {
      probe = await probePostgres(primary);
      if (probe.ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (!probe.ok) {
      throw new ProvisionError(
        `Postgres is not reachable at ${redact(primary)} after starting it: ${probe.message}`,
        'pg_lsclusters; tail /var/log/postgresql/*.log',
      );
    }
  }
  for (const url of urls) await createDatabaseIfMissing(url);
}

// ---------------------------------------------------------------- Redis

async function pingRedis(url: string): Promise<string | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

async function startLocalRedis(root: string): Promise<void> {
  if (capture('sh', ['-c', 'command -v redis-server']).code !== 0) {
    say('Redis is not installed; installing it from Debian packages (redis-server)');
    if (!(await aptInstall(['redis-server']))) {
      throw new ProvisionError('Redis is not installed and could not be installed.', 'apt-get update && apt-get install -y redis-server');
    }
  }
  const dir = join(root, '.data', 'redis');
  mkdirSync(dir, { recursive: true });
  say('Redis: starting on 127.0.0.1:6379 (data in .data/redis)');
  // noeviction and an append-only file: BullMQ must never lose a queued build.
  const started = capture('redis-server', [
    '--bind',
    '127.0.0.1',
    '--port',
    '6379',
    '--daemonize',
    'yes',
    '--dir',
    dir,
    '--logfile',
    join(dir, 'redis.log'),
    '--appendonly',
    'yes',
    '--maxmemory-policy',
    'noeviction',
    '--save',
    '',
  ]);
  if (started.code !== 0) {
    throw new ProvisionError(
      `Redis did not start: ${(started.stderr || started.stdout).trim()}`,
      `redis-server --port 6379 --daemonize yes`,
    );
  }
}

export async function ensureRedis(url: string, root: string): Promise<void> {
  let failure = await pingRedis(url);
  if (!failure) return;
  if (!isLocal(new URL(url), '6379')) {
    throw new ProvisionError(
      `Redis is not reachable at ${redact(url)}: ${failure}`,
      'start that server, or unset REDIS_URL to use the local default',
    );
  }
  await startLocalRedis(root);
  for (let attempt = 0; attempt < 50 && failure; attempt++) {
    await new Promise((r) => setTimeout(r, 100));
    failure = await pingRedis(url);
  }
  if (failure) {
    throw new ProvisionError(
      `Redis is not reachable at ${redact(url)} after starting it: ${failure}`,
      `tail ${join(root, '.data/redis/redis.log')}`,
    );
  }
}
