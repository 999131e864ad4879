// `npm start`, `npm test`, `npm run db:migrate` and `npm run db:migration -- NAME`, after
// scripts/bootstrap.sh has put Node 24 and node_modules in place. Every step checks before it
// acts, so a second run takes seconds.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { installCliLaunchers } from './cli-launchers.mts';
import { ProvisionError, say } from './log.mts';
import { applyMigrations, createMigration } from './migrations.mts';
import { localSecrets } from './secrets.mts';
import { DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, ensurePostgres, ensureRedis, withPassword } from './services.mts';
import {
  buildConsole,
  buildSandboxLauncher,
  buildTypeScript,
  buildWasmHost,
  generatePrismaClient,
  lint,
  runCargoTests,
  runJest,
  startPlatform,
} from './steps.mts';
import { ensureBrowser, ensureBuildTools, ensureWasmToolchain } from './toolchains.mts';

const root = resolve(import.meta.dirname, '..', '..');

/**
 * The services' URLs: the operator's (`DATABASE_URL`, `REDIS_URL`, …), or the local defaults with
 * the local secrets' passwords (`local*`: those passwords, to make the local services require them).
 */
function settings() {
  const secrets = localSecrets();
  const localPostgres = process.env.DATABASE_URL ? undefined : secrets.postgresPassword;
  const localRedis = process.env.REDIS_URL ? undefined : secrets.redisPassword;
  const databaseUrl = process.env.DATABASE_URL || withPassword(DEFAULT_DATABASE_URL, secrets.postgresPassword);
  const redisUrl = process.env.REDIS_URL || withPassword(DEFAULT_REDIS_URL, secrets.redisPassword);
  const testDatabaseUrl = process.env.TEST_DATABASE_URL || withDatabase(databaseUrl, (name) => `${name}_test`);
  const testRedisUrl = process.env.TEST_REDIS_URL || withRedisDb(redisUrl, 1);
  return {
    databaseUrl,
    redisUrl,
    testDatabaseUrl,
    testRedisUrl,
    // A test URL of the operator's own is the operator's to secure.
    localPostgres: process.env.TEST_DATABASE_URL ? undefined : localPostgres,
    localRedis: process.env.TEST_REDIS_URL ? undefined : localRedis,
    devPostgres: localPostgres,
    devRedis: localRedis,
    runnerToken: process.env.RUNNER_INTERNAL_TOKEN || secrets.runnerToken,
  };
}

/**
 * The data plane's URL (the runner's direct port): the API forwards its invoke route there and
 * writes it into the CLI config (`invokeUrl`), so it follows the runner's own settings.
 */
function directUrl(): string {
  if (process.env.RUNNER_DIRECT_URL) return process.env.RUNNER_DIRECT_URL;
  const host = process.env.RUNNER_HOST && process.env.RUNNER_HOST !== '0.0.0.0' ? process.env.RUNNER_HOST : '127.0.0.1';
  return `http://${host}:${process.env.RUNNER_DIRECT_PORT || '8082'}`;
}

/** Where the API serves the web console, as the API's HOST and PORT settings put it. */
function consoleUrl(): string {
  const host = process.env.HOST && process.env.HOST !== '0.0.0.0' ? process.env.HOST : '127.0.0.1';
  return `http://${host}:${process.env.PORT || '8080'}/console`;
}

/** Where caches that outlive a clone go: `$IGNITE_CACHE_HOME`, else `~/.cache/ignite`. */
function cacheHome(): string {
  return process.env.IGNITE_CACHE_HOME || join(homedir(), '.cache', 'ignite');
}

function withDatabase(url: string, rename: (name: string) => string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${rename(parsed.pathname.slice(1) || 'ignite')}`;
  return parsed.toString();
}

function withRedisDb(url: string, db: number): string {
  const parsed = new URL(url);
  parsed.pathname = `/${db}`;
  return parsed.toString();
}

async function migrate(url: string, label: string): Promise<void> {
  const applied = await applyMigrations(root, url);
  if (applied.length === 0) say(`${label}: no pending migrations, nothing applied`);
  else say(`${label}: applied ${applied.length} migration(s): ${applied.join(', ')}`);
}

async function main(command: string | undefined, args: string[]): Promise<number> {
  const s = settings();
  switch (command) {
    case 'db:migrate': {
      await ensurePostgres([s.databaseUrl], s.devPostgres);
      await migrate(s.databaseUrl, 'database');
      return 0;
    }
    case 'db:migration': {
      const name = args[0];
      if (!name) throw new ProvisionError('db:migration needs a name.', 'npm run db:migration -- add_something');
      await ensurePostgres([s.databaseUrl], s.devPostgres);
      const written = await createMigration(root, s.databaseUrl, name);
      if (written) say(`wrote prisma/migrations/${written}/migration.sql; review it, then npm run db:migrate`);
      return 0;
    }
    case 'start': {
      await ensureRedis(s.redisUrl, root, s.devRedis);
      await ensurePostgres([s.databaseUrl], s.devPostgres);
      await migrate(s.databaseUrl, 'database');
      await ensureBuildTools();
      await ensureWasmToolchain(cacheHome());
      await generatePrismaClient(root);
      await buildTypeScript(root);
      await buildConsole(root);
      await buildSandboxLauncher(root, join(cacheHome(), 'sandbox-target'));
      await buildWasmHost(root, join(cacheHome(), 'wasm-host-target'));
      installCliLaunchers(root, { takeOver: true });
      say(`web console: ${consoleUrl()} (sign in with an API key; \`dodil ignite key create console\` prints one)`);
      return startPlatform(root, {
        DATABASE_URL: s.databaseUrl,
        REDIS_URL: s.redisUrl,
        RUNNER_INTERNAL_TOKEN: s.runnerToken,
        RUNNER_DIRECT_URL: directUrl(),
      });
    }
    case 'test': {
      await ensureRedis(s.testRedisUrl, root, s.localRedis);
      await ensurePostgres([s.testDatabaseUrl], s.localPostgres);
      await migrate(s.testDatabaseUrl, 'test database');
      await ensureBuildTools();
      await ensureWasmToolchain(cacheHome());
      await generatePrismaClient(root);
      await buildTypeScript(root);
      await buildConsole(root);
      await ensureBrowser();
      await buildSandboxLauncher(root, join(cacheHome(), 'sandbox-target'));
      await buildWasmHost(root, join(cacheHome(), 'wasm-host-target'));
      installCliLaunchers(root, { takeOver: false });
      await lint(root);
      // Build caches live outside the clone so CI runs on this machine stay warm; a fresh
      // machine simply starts cold.
      const env = {
        DATABASE_URL: s.testDatabaseUrl,
        REDIS_URL: s.testRedisUrl,
        IGNITE_ENV: 'test',
        IGNITE_QUEUE_PREFIX: 'ignite-test',
        IGNITE_BUILD_CACHE_DIR: process.env.IGNITE_BUILD_CACHE_DIR || join(cacheHome(), 'build-cache'),
        IGNITE_SDK_TARGET_DIR: join(cacheHome(), 'sdk-target'),
        IGNITE_FIXTURES_TARGET_DIR: join(cacheHome(), 'runner-fixtures-target'),
      };
      const jest = await runJest(root, env, args);
      const cargo = existsSync(join(root, 'sdk', 'ignite-rs', 'Cargo.toml'))
        ? await runCargoTests(root, {
            sdk: join(cacheHome(), 'sdk-target'),
            sandbox: join(cacheHome(), 'sandbox-target'),
            wasmHost: join(cacheHome(), 'wasm-host-target'),
          })
        : 0;
      return jest !== 0 ? jest : cargo;
    }
    default:
      throw new ProvisionError(
        `unknown command "${command ?? ''}"`,
        'npm start | npm test | npm run db:migrate | npm run db:migration -- NAME',
      );
  }
}

main(process.argv[2], process.argv.slice(3)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ProvisionError) {
      say(`error: ${error.message}`);
      if (error.fix) say(`fix: ${error.fix}`);
    } else {
      say(`error: ${(error as Error).stack ?? String(error)}`);
    }
    process.exit(1);
  },
);
