// Makes sure Postgres and Redis are there. The platform manages them only at their default,
// local URLs (install from Debian when missing, start when stopped, and never open without a
// password: Postgres asks for one on loopback too (scram-sha-256), Redis has `requirepass`; the
// passwords are the local secrets, see secrets.mts); any other URL is the operator's service,
// and an unreachable one is an error that names it.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { aptInstall, capture } from './exec.mts';
import { ProvisionError, say } from './log.mts';

export const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/ignite';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** `url` with `password` (the local default URLs, with the local secrets). */
export function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

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

/** Runs `sql` as the cluster's superuser over its unix socket (peer authentication: no password needed); the SQL goes on stdin, never on a command line. */
function psqlAsPostgres(sql: string): { code: number; stdout: string; stderr: string } {
  const result = spawnSync('runuser', ['-u', 'postgres', '--', 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
    input: sql,
    encoding: 'utf8',
  });
  return { code: result.status ?? 127, stdout: result.stdout ?? '', stderr: result.stderr ?? String(result.error?.message ?? '') };
}

const LOOPBACK_MARKER = '# ignite: loopback connections need a password (scram-sha-256)';
const LOOPBACK_RULES = `${LOOPBACK_MARKER}\nhost all all 127.0.0.1/32 scram-sha-256\nhost all all ::1/128 scram-sha-256\n`;
/** A loopback rule that lets anyone in (an earlier provisioning's, or the distribution's). */
const LOOPBACK_TRUST = /^host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+trust\s*$/;

/**
 * The local cluster asks for a password on loopback, and `postgres`'s is `password`: the rules
 * go first in pg_hba.conf (trust rules for loopback are removed), the configuration is reloaded.
 */
function securePostgres(password: string): void {
  if (process.getuid?.() !== 0) {
    throw new ProvisionError(
      'The local Postgres lets loopback connections in without the platform password, and only root can change that here.',
      `run npm start once as root, or set DATABASE_URL to a server with a password`,
    );
  }
  const changed = psqlAsPostgres(`ALTER ROLE postgres PASSWORD '${password}';\nSHOW hba_file;\n`);
  if (changed.code !== 0) {
    throw new ProvisionError(
      `Could not set the local Postgres password: ${changed.stderr.trim()}`,
      'runuser -u postgres -- psql -c "ALTER ROLE postgres PASSWORD \'...\'" (the password is in ~/.config/ignite/local-services.json)',
    );
  }
  const hba = changed.stdout.trim().split('\n').at(-1) ?? '';
  const current = readFileSync(hba, 'utf8');
  const ours = new Set(LOOPBACK_RULES.split('\n').filter((line) => line !== ''));
  const kept = current
    .split('\n')
    .filter((line) => !LOOPBACK_TRUST.test(line) && !ours.has(line) && line !== '# ignite: loopback trust')
    .join('\n');
  const wanted = LOOPBACK_RULES + kept;
  if (wanted !== current) {
    writeFileSync(hba, wanted);
    say(`Postgres: loopback connections now need a password (${hba})`);
  }
  const reloaded = psqlAsPostgres('SELECT pg_reload_conf();\n');
  if (reloaded.code !== 0)
    throw new ProvisionError(`Postgres did not reload its configuration: ${reloaded.stderr.trim()}`, 'pg_ctlcluster 15 main reload');
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
  if (cluster.status === 'online') return;
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

/**
 * Postgres reachable at `urls[0]`, every database of `urls` created. `localPassword`: the URL is
 * the local default, managed here: started when it is down, and made to ask for that password.
 */
export async function ensurePostgres(urls: string[], localPassword?: string): Promise<void> {
  const [primary] = urls;
  if (!primary) return;
  const managed = localPassword !== undefined && isLocal(new URL(primary), '5432');
  let probe = await probePostgres(primary);
  if (!probe.ok && probe.reason === 'unreachable') {
    if (!managed) {
      throw new ProvisionError(
        `Postgres is not reachable at ${redact(primary)}: ${probe.message}`,
        'start that server, or unset DATABASE_URL to use the local default',
      );
    }
    await startLocalPostgres();
    for (let attempt = 0; attempt < 50; attempt++) {
      probe = await probePostgres(primary);
      if (probe.ok || probe.reason !== 'unreachable') break;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (managed) {
    // A wrong password let in means the cluster trusts loopback: anyone on the machine is in.
    const trusting = (await probePostgres(withPassword(primary, 'not-the-password'))).ok;
    if (!probe.ok || trusting) {
      securePostgres(localPassword);
      probe = await probePostgres(primary);
      if ((await probePostgres(withPassword(primary, 'not-the-password'))).ok) {
        throw new ProvisionError(
          'The local Postgres still lets loopback connections in without a password.',
          'check the host rules in pg_hba.conf',
        );
      }
    }
  }
  if (!probe.ok) {
    throw new ProvisionError(
      `Postgres is not reachable at ${redact(primary)}: ${probe.message}`,
      managed ? 'pg_lsclusters; tail /var/log/postgresql/*.log' : 'check that server and DATABASE_URL',
    );
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
    // The ping's own answer (NOAUTH, say), not a ready check's closed connection.
    enableReadyCheck: false,
  });
  // A refused connection surfaces only as an 'error' event; connect() then says just
  // "Connection is closed.", which cannot tell a stopped server from one that hung up.
  let connectionError: string | undefined;
  client.on('error', (error: Error) => {
    connectionError ??= error.message;
  });
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return connectionError ?? (error as Error).message;
  } finally {
    client.disconnect();
  }
}

async function startLocalRedis(root: string, password: string): Promise<void> {
  if (capture('sh', ['-c', 'command -v redis-server']).code !== 0) {
    say('Redis is not installed; installing it from Debian packages (redis-server)');
    if (!(await aptInstall(['redis-server']))) {
      throw new ProvisionError('Redis is not installed and could not be installed.', 'apt-get update && apt-get install -y redis-server');
    }
  }
  const dir = join(root, '.data', 'redis');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  say('Redis: starting on 127.0.0.1:6379 (data in .data/redis)');
  // The password in a file only its owner reads, not on the command line.
  const config = join(dir, 'redis.conf');
  writeFileSync(config, `requirepass ${password}\n`, { mode: 0o600 });
  // noeviction and an append-only file: BullMQ must never lose a queued build.
  const started = capture('redis-server', [
    config,
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

/** Redis reachable at `url`. `localPassword`: the URL is the local default, managed here: started when down, `requirepass` set. */
export async function ensureRedis(url: string, root: string, localPassword?: string): Promise<void> {
  const managed = localPassword !== undefined && isLocal(new URL(url), '6379');
  const open = new URL(url);
  open.password = '';
  open.username = '';
  // A managed Redis up without a password (started by the machine, or restarted without its
  // configuration) is asked first, without one: it gets its password before anything else.
  let openFailure = managed ? await pingRedis(open.toString()) : 'not managed';
  if (managed && openFailure !== undefined && /ECONNREFUSED|ETIMEDOUT/.test(openFailure)) {
    await startLocalRedis(root, localPassword);
    for (let attempt = 0; attempt < 50 && openFailure !== undefined && !/NOAUTH/.test(openFailure); attempt++) {
      await new Promise((r) => setTimeout(r, 100));
      openFailure = await pingRedis(open.toString());
    }
  }
  if (managed && openFailure === undefined) {
    await requirePassword(open.toString(), localPassword);
    if ((await pingRedis(open.toString())) === undefined) {
      throw new ProvisionError('The local Redis still answers without a password.', 'redis-cli CONFIG SET requirepass ...');
    }
  }
  let failure = await pingRedis(url);
  // A Redis just started answers LOADING until its append-only file is read back (seconds for a
  // large one): it is starting, not unreachable.
  for (let waited = 0; failure !== undefined && /^LOADING/.test(failure) && waited < 120_000; waited += 200) {
    await new Promise((r) => setTimeout(r, 200));
    failure = await pingRedis(url);
  }
  if (failure) {
    throw new ProvisionError(
      `Redis is not reachable at ${redact(url)}: ${failure}`,
      managed
        ? `tail ${join(root, '.data/redis/redis.log')} (a local Redis with another password: redis-cli -a OLD CONFIG SET requirepass '', then npm start)`
        : 'start that server, or unset REDIS_URL to use the local default',
    );
  }
}

/** Sets `requirepass` on a Redis that has none (connections already open stay authenticated). */
async function requirePassword(url: string, password: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.config('SET', 'requirepass', password);
    say('Redis: connections now need its password (requirepass)');
  } finally {
    client.disconnect();
  }
}
