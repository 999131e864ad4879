import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuildView } from '@ignite/contracts';
import { createPrismaClient } from '@ignite/database';
import { createRedis } from '@ignite/service-kit';
import { repoRoot, tarGzOf, testDatabaseUrl, testRedisUrl, uniqueName, waitFor } from '@ignite/testing';

/** The deployables, started from their compiled `dist/main.js` as `npm start` does. */
const APPS = ['api', 'compile-worker', 'runner'] as const;
export type Part = (typeof APPS)[number];

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read as loose JSON
  json: any;
}

/**
 * The whole platform as separate processes (API, compile worker, runner) on the test database and
 * Redis, with its own org (created by the API's local bootstrap, key read from the CLI config it
 * writes), queue prefix and data directory, so that test files running side by side never meet.
 */
export class TestPlatform {
  readonly org = uniqueName('org');
  readonly prefix = uniqueName('ignite-test-platform');
  readonly dataDir = mkdtempSync(join(tmpdir(), 'ignite-platform-'));
  /** The API's credential on the runner's ports (`x-ignite-internal-token`), as `npm start` generates one. */
  readonly runnerToken = randomBytes(24).toString('hex');
  apiUrl = '';
  runnerUrl = '';
  /** The runner's direct port (connections handed to the function's instance). */
  directUrl = '';
  private key = '';
  private readonly children = new Map<string, ChildProcess>();
  private output = '';
  private settings: Record<string, string> = {};

  /** Starts the three apps with `env` on top of the platform's settings; resolves once API and runner are ready. */
  async start(env: Record<string, string> = {}): Promise<this> {
    const [apiPort, runnerPort, directPort] = [await freePort(), await freePort(), await freePort()];
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
    this.runnerUrl = `http://127.0.0.1:${runnerPort}`;
    this.directUrl = `http://127.0.0.1:${directPort}`;
    const cliConfig = join(this.dataDir, 'cli-config.json');
    const settings: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? homedir(),
      DATABASE_URL: testDatabaseUrl(),
      REDIS_URL: testRedisUrl(),
      HOST: '127.0.0.1',
      PORT: String(apiPort),
      RUNNER_HOST: '127.0.0.1',
      RUNNER_PORT: String(runnerPort),
      RUNNER_DIRECT_PORT: String(directPort),
      RUNNER_DIRECT_URL: this.directUrl,
      RUNNER_INTERNAL_TOKEN: this.runnerToken,
      IGNITE_DATA_DIR: this.dataDir,
      IGNITE_QUEUE_PREFIX: this.prefix,
      IGNITE_DEFAULT_ORG: this.org,
      IGNITE_BOOTSTRAP_LOCAL: 'true',
      IGNITE_CLI_CONFIG: cliConfig,
      IGNITE_BUILD_CACHE_DIR: process.env.IGNITE_BUILD_CACHE_DIR ?? join(homedir(), '.cache', 'ignite', 'test-build-cache'),
      LOG_LEVEL: 'warn',
      ...env,
    };
    this.settings = settings;
    for (const app of APPS) this.spawnPart(app);
    await waitFor(
      async () => {
        for (const [app, child] of this.children) {
          if (child.exitCode !== null) throw new Error(`${app} exited (${child.exitCode}):\n${this.output.slice(-4000)}`);
        }
        const ready = await Promise.all(
          [`${this.apiUrl}/readyz`, `${this.runnerUrl}/readyz`].map((url) =>
            fetch(url)
              .then((r) => r.ok)
              .catch(() => false),
          ),
        );
        return ready.every(Boolean) ? true : undefined;
      },
      120_000,
      'the platform to be ready',
    );
    this.key = (JSON.parse(readFileSync(cliConfig, 'utf8')) as { key: string }).key;
    return this;
  }

  private spawnPart(app: Part): void {
    const child = spawn(process.execPath, ['--enable-source-maps', join(repoRoot, 'apps', app, 'dist', 'main.js')], {
      cwd: repoRoot,
      env: this.settings,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-64_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.children.set(app, child);
  }

  /** `kill -9` of one part; resolves once it is gone. */
  async kill(app: Part): Promise<void> {
    const child = this.children.get(app);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Starts a part again with the settings it had (what `npm start`'s supervisor does after an exit). */
  restart(app: Part): void {
    this.spawnPart(app);
  }

  /** What the apps printed last (for failure messages). */
  log(): string {
    return this.output;
  }

  /** A call to the REST API as the platform's org. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${this.key}`, ...headers } };
    if (body !== undefined) {
      init.body =
        typeof body === 'string' || body instanceof Uint8Array ? (body as NonNullable<RequestInit['body']>) : JSON.stringify(body);
      if (!(body instanceof Uint8Array)) (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.apiUrl}/v1/orgs/${this.org}${path}`, init);
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json };
  }

  /** create app → save draft → compile (waits for the build) → publish; returns the release number and the build. */
  async deploy(app: string, sourceDir: string, create?: Record<string, unknown>): Promise<{ release: number; build: BuildView }> {
    if (create !== undefined) {
      const created = await this.call('POST', '/apps', { name: app, runtime: 'rust', ...create });
      if (created.status !== 201) throw new Error(`create ${app}: ${created.status} ${created.text}`);
    }
    const saved = await this.call('PUT', `/apps/${app}/draft`, new Uint8Array(await tarGzOf(sourceDir)), {
      'content-type': 'application/gzip',
    });
    if (saved.status !== 200) throw new Error(`save draft of ${app}: ${saved.status} ${saved.text}`);
    const build = await this.compile(app);
    const published = await this.call('POST', `/apps/${app}/releases`);
    if (published.status !== 201) throw new Error(`publish ${app}: ${published.status} ${published.text}`);
    return { release: published.json.release.number as number, build };
  }

  /** Compiles the app's draft and waits for the build to succeed (throws with its log otherwise). */
  async compile(app: string): Promise<BuildView> {
    const compiled = await this.call('POST', `/apps/${app}/builds`);
    if (compiled.status !== 202) throw new Error(`compile ${app}: ${compiled.status} ${compiled.text}`);
    const buildId = compiled.json.build.id as string;
    const build = await waitFor<BuildView>(
      async () => {
        const answer = await this.call('GET', `/apps/${app}/builds/${buildId}`);
        const status = answer.json?.build?.status as string | undefined;
        return status === 'succeeded' || status === 'failed' || status === 'cancelled' ? answer.json.build : undefined;
      },
      900_000,
      `the build of ${app}`,
    );
    if (build.status !== 'succeeded') {
      const logs = await this.call('GET', `/apps/${app}/builds/${buildId}/logs`);
      throw new Error(`the build of ${app} ${build.status}: ${build.errorSummary ?? ''}\n${logs.text.slice(-4000)}`);
    }
    return build;
  }

  /** Invokes the app through the API's invoke route (which forwards to the data plane). */
  invoke(app: string, body: unknown, options: { path?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
    return this.call(options.method ?? 'POST', `/apps/${app}/invoke${options.path ?? ''}`, body, options.headers);
  }

  /** The platform's own API key (the one its local bootstrap wrote), for calls of the data plane. */
  get apiKey(): string {
    return this.key;
  }

  /** Stops every app (SIGTERM, then SIGKILL after 15 s) and removes the org, the Redis keys and the data. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.children.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
    const prisma = createPrismaClient(testDatabaseUrl());
    await prisma.org.deleteMany({ where: { slug: this.org } });
    await prisma.$disconnect();
    const redis = createRedis(testRedisUrl());
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** A TCP port free right now on loopback. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
