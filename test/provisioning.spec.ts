import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { testDatabaseUrl, testRedisUrl } from '@ignite/testing';
import { Redis } from 'ioredis';
import pg from 'pg';

// The scripts behind `npm start` and `npm run db:*`, run as a user runs them.
const root = join(__dirname, '..');

function runPlatform(args: string[], env: Record<string, string>) {
  const started = Date.now();
  const result = spawnSync('bash', [join(root, 'scripts', 'bootstrap.sh'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}`, seconds: (Date.now() - started) / 1000 };
}

describe('npm start with Redis unreachable', () => {
  it('fails within seconds naming Redis and its URL, without a stack trace', () => {
    const result = runPlatform(['start'], { REDIS_URL: 'redis://127.0.0.1:6390' });

    expect(result.code).not.toBe(0);
    expect(result.output).toContain('Redis is not reachable at redis://127.0.0.1:6390');
    expect(result.output).toMatch(/fix: /);
    expect(result.output).not.toMatch(/^\s+at /m);
    expect(result.seconds).toBeLessThan(15);
  });
});

describe('npm run db:migrate', () => {
  const name = `ignite_migrate_${randomBytes(4).toString('hex')}`;
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;

  afterAll(async () => {
    const admin = new URL(testDatabaseUrl());
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`drop database if exists ${pg.escapeIdentifier(name)} with (force)`);
    await client.end();
  });

  it('applies the migrations once, then says there is nothing to apply', () => {
    const first = runPlatform(['db:migrate'], { DATABASE_URL: url.toString() });
    const second = runPlatform(['db:migrate'], { DATABASE_URL: url.toString() });

    expect(first.code).toBe(0);
    expect(first.output).toMatch(/applied \d+ migration\(s\): \d+_init/);
    expect(second.code).toBe(0);
    expect(second.output).toContain('no pending migrations, nothing applied');
  });
});

// `npm test` provisioned the local services before this ran: with the default URLs they are the
// platform's to secure, and nothing of them may answer without its credentials.
const localServices = process.env.TEST_DATABASE_URL === undefined && process.env.TEST_REDIS_URL === undefined;
const onLocalServices = localServices ? describe : describe.skip;
if (!localServices)
  console.warn('provisioning.spec: local services not checked: TEST_DATABASE_URL/TEST_REDIS_URL point at services of your own');

onLocalServices('the local services npm test provisioned', () => {
  const secretsFile = process.env.IGNITE_LOCAL_SECRETS || join(homedir(), '.config', 'ignite', 'local-services.json');

  it('keep their credentials outside the clone, readable by their owner only', () => {
    const mode = statSync(secretsFile).mode & 0o777;
    expect(mode).toBe(0o600);
    const secrets = JSON.parse(readFileSync(secretsFile, 'utf8')) as Record<string, string>;
    expect(Object.keys(secrets).sort()).toEqual(['postgresPassword', 'redisPassword', 'runnerToken']);
    expect(secretsFile.startsWith(root)).toBe(false);
    // The test run itself got them: its URLs carry the passwords.
    expect(new URL(testDatabaseUrl()).password).toBe(secrets.postgresPassword);
  });

  it('Postgres refuses loopback connections without the password, or with a wrong one', async () => {
    for (const password of ['', 'wrong']) {
      const url = new URL(testDatabaseUrl());
      url.password = password;
      const client = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: 3000 });
      const failure = await client.connect().then(
        () => null,
        (error: Error & { code?: string }) => error,
      );
      await client.end().catch(() => {});
      expect({ password, refused: failure !== null, auth: /password|authentication/i.test(String(failure?.message)) }).toEqual({
        password,
        refused: true,
        auth: true,
      });
    }
  });

  it('Redis refuses commands without the password', async () => {
    const url = new URL(testRedisUrl());
    const client = new Redis({
      host: url.hostname,
      port: Number(url.port || 6379),
      lazyConnect: true,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    await client.connect();
    await expect(client.ping()).rejects.toThrow(/NOAUTH/);
    client.disconnect();
  });
});
