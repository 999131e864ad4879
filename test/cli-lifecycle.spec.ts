import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { repoRoot, rustHelloUserSource, testDatabaseUrl, waitFor } from '@ignite/testing';
import pg from 'pg';

// The contract's five lines, typed as a user would in a new shell, against the platform started
// the way the README says (`npm start`, here its script), with rust-hello's source as ./.
jest.setTimeout(900_000);

const database = `ignite_e2e_${randomBytes(4).toString('hex')}`;
const databaseUrl = (() => {
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${database}`;
  return url.toString();
})();
const apiPort = 30_000 + Math.floor(Math.random() * 5000);
const runnerPort = apiPort + 1;
const directPort = apiPort + 2;
const dataDir = mkdtempSync(join(tmpdir(), 'ignite-e2e-'));
const cliConfig = join(dataDir, 'cli-config.json');
// Where `npm start` puts the `dodil` and `ignite` launchers (by default a directory already on
// PATH, such as ~/.local/bin; here one of the test's own).
const binDir = join(dataDir, 'bin');
/**
 * The user's PATH as `npm start` leaves it: the launchers' directory (first: a machine's own
 * launchers, from another clone's `npm test`, may be on PATH too), and nothing of the repository's.
 */
const userPath = [
  binDir,
  ...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '' && !resolve(dir).startsWith(repoRoot)),
].join(delimiter);

/** A new shell: only the user's environment and the CLI config the platform wrote. */
function shell(command: string, cwd: string) {
  const result = spawnSync('bash', ['-c', command], {
    cwd,
    env: { PATH: userPath, HOME: process.env.HOME, IGNITE_CLI_CONFIG: cliConfig },
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('the contract, end to end through the CLI', () => {
  let platform: ChildProcess;
  let platformLog = '';
  let source: string;

  beforeAll(async () => {
    source = rustHelloUserSource();
    platform = spawn('bash', [join(repoRoot, 'scripts', 'bootstrap.sh'), 'start'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATABASE_URL: databaseUrl,
        PORT: String(apiPort),
        RUNNER_PORT: String(runnerPort),
        // `npm start` points the API and the CLI config at it: `ignite invoke` calls the data plane.
        RUNNER_DIRECT_PORT: String(directPort),
        IGNITE_DATA_DIR: dataDir,
        IGNITE_CLI_CONFIG: cliConfig,
        IGNITE_CLI_BIN_DIR: binDir,
        IGNITE_QUEUE_PREFIX: database,
        IGNITE_BUILD_CACHE_DIR: process.env.IGNITE_BUILD_CACHE_DIR ?? join(homedir(), '.cache', 'ignite', 'test-build-cache'),
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    platform.stdout?.on('data', (chunk: Buffer) => {
      platformLog += chunk.toString();
    });
    platform.stderr?.on('data', (chunk: Buffer) => {
      platformLog += chunk.toString();
    });
    await waitFor(
      async () => {
        if (platform.exitCode !== null) throw new Error(`the platform exited (${platform.exitCode}):\n${platformLog.slice(-4000)}`);
        const [api, runner] = await Promise.all(
          [`http://127.0.0.1:${apiPort}/readyz`, `http://127.0.0.1:${runnerPort}/readyz`].map((url) =>
            fetch(url)
              .then((r) => r.ok)
              .catch(() => false),
          ),
        );
        return api && runner ? true : undefined;
      },
      300_000,
      'the platform to be ready',
    );
  });

  afterAll(async () => {
    if (platform?.pid) {
      process.kill(-platform.pid, 'SIGTERM');
      await new Promise((resolve) => (platform.exitCode !== null ? resolve(null) : platform.once('exit', resolve)));
    }
    const admin = new URL(testDatabaseUrl());
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`drop database if exists ${pg.escapeIdentifier(database)} with (force)`);
    await client.end();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(source, { recursive: true, force: true });
  });

  it('puts dodil and ignite on PATH, each one Node 24 start away', () => {
    expect(platformLog).toContain(`dodil and ignite in ${binDir} now run this clone's CLI`);
    expect(shell('command -v dodil ignite', tmpdir()).stdout.trim().split('\n')).toEqual([join(binDir, 'dodil'), join(binDir, 'ignite')]);
    for (const command of ['dodil', 'ignite']) {
      // One process start: the launcher execs Node 24 itself, not a shim on whatever node is first.
      const exec = /^exec '([^']+)' '([^']+)' "\$@"$/m.exec(readFileSync(join(binDir, command), 'utf8'));
      expect(exec?.[2]).toBe(join(repoRoot, 'apps', 'cli', 'bin', `${command}.js`));
      expect(spawnSync(exec![1]!, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout).toMatch(/^(2[4-9]|[3-9]\d)\./);
    }
    const help = shell('ignite --help', tmpdir());
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: ignite');
  });

  it('runs the five contract lines, typed verbatim, and answers with the contract JSON', () => {
    const lines = [
      `dodil ignite app create hello --runtime rust --rust-target native`,
      `dodil ignite draft save org:hello --code ./`,
      `dodil ignite draft compile org:hello`,
      `dodil ignite draft publish org:hello`,
    ];
    for (const line of lines) {
      const result = shell(line, source);
      expect({ line, code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ line, code: 0, stderr: '' });
    }
    const invoke = shell(`dodil ignite invoke org:hello -p '{"message": "hi there"}'`, source);

    expect(invoke.code).toBe(0);
    const body = JSON.parse(invoke.stdout);
    expect(body).toMatchObject({ message: 'hi there', function_id: 'org/hello' });
    expect(body.execution_id).toMatch(/^[0-9a-f-]{36}$/);

    const again = shell(`ignite invoke org:hello -p '{}'`, source);
    expect(JSON.parse(again.stdout)).toMatchObject({ message: 'Hello from Rust!', function_id: 'org/hello' });
  });

  it('init, then deploy of the new folder, ends with a published release that answers', () => {
    const parent = mkdtempSync(join(tmpdir(), 'ignite-deploy-'));
    try {
      expect(shell('dodil ignite init deployed', parent).code).toBe(0);
      const folder = join(parent, 'deployed');
      // Not on a terminal and without --yes: it asks for --yes rather than creating an app.
      const asked = shell('dodil ignite deploy org:deployed', folder);
      expect(asked.code).not.toBe(0);
      expect(asked.stderr.trim()).toBe('error: app org:deployed does not exist; add --yes to create it as org:deployed (rust, native)');
      const deployed = shell('dodil ignite deploy org:deployed --yes', folder);
      expect({ code: deployed.code, stderr: deployed.code === 0 ? '' : deployed.stderr }).toEqual({ code: 0, stderr: '' });
      expect(deployed.stdout).toMatch(/^published org:deployed release 1 \(native, sha256 [0-9a-f]{64}\)$/m);
      expect(deployed.stderr).toMatch(/^created app org:deployed \(rust, native, auth key\)$/m);
      expect(deployed.stderr).toMatch(/^build succeeded in [\d.]+ s/m);
      const invoke = shell(`dodil ignite invoke org:deployed -p '{"message": "deployed"}'`, folder);
      expect(invoke.code).toBe(0);
      expect(JSON.parse(invoke.stdout)).toMatchObject({ message: 'deployed', function_id: 'org/deployed' });
      // Again: the app is there, a new release.
      const again = shell('dodil ignite deploy org:deployed --quiet', folder);
      expect(again.code).toBe(0);
      expect(again.stdout).toMatch(/^published org:deployed release 2 /m);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it('gives one clear line and a non-zero exit for what a new user gets wrong', () => {
    const cases: [string, RegExp][] = [
      [
        `dodil ignite app create fresh --runtime rust --rust-target arm`,
        /rustTarget "arm" is not supported; supported targets: native, wasm/,
      ],
      [`dodil ignite app create fresh --runtime rust`, /^$/],
      [`dodil ignite draft compile org:fresh`, /draft/i],
      [`dodil ignite invoke org:fresh -p '{}'`, /publish/i],
      [`dodil ignite invoke org:hello -p '{"message": '`, /not valid JSON/],
    ];
    for (const [line, message] of cases) {
      const result = shell(line, source);
      if (message.source === '^$') {
        expect(result.code).toBe(0);
        continue;
      }
      expect({ line, code: result.code === 0 ? 0 : 'non-zero' }).toEqual({ line, code: 'non-zero' });
      const errorLines = result.stderr.trim().split('\n');
      expect(errorLines).toHaveLength(1);
      expect(errorLines[0]).toMatch(message);
    }
  });

  it('says how to start the API when it is not running', () => {
    const result = shell(`IGNITE_API_URL=http://127.0.0.1:59999 dodil ignite app list`, source);

    expect(result.code).not.toBe(0);
    expect(result.stderr.trim()).toBe(
      'error: cannot reach the Ignite API at http://127.0.0.1:59999 (ECONNREFUSED); start the platform with `npm start`, or set IGNITE_API_URL',
    );
  });
});
