import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { testDatabaseUrl } from '@ignite/testing';
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
