import { lookup } from 'node:dns/promises';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, waitFor } from '@ignite/testing';
import { type Answer, TestPlatform } from './support/platform';

// A tenant's function that looks around and attacks (test/fixtures/hostile), deployed through the
// whole lifecycle as a user would. With the sandbox on (the default) every attempt fails and the
// platform and its other functions keep answering; with it off (RUNNER_SANDBOX=none) the same
// function finds the platform's secrets, files and services: the defence is what stops it.
jest.setTimeout(900_000);

const MEMORY_MB = 128;
const SECRETS = ['DATABASE_URL', 'REDIS_URL', 'RUNNER_INTERNAL_TOKEN', 'IGNITE_API_KEY'];

function hostileSource(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fn-hostile-'));
  cpSync(join(repoRoot, 'test', 'fixtures', 'hostile'), dir, { recursive: true });
  return dir;
}

function ok(answer: Answer): Answer {
  if (answer.status !== 200) throw new Error(`expected 200, got ${answer.status} ${answer.text}`);
  return answer;
}

/** What a tenant would try to reach on this platform. */
async function lookRequest(platform: TestPlatform) {
  const port = (url: string) => Number(new URL(url).port);
  const registry = await lookup('index.crates.io', { family: 4 });
  return {
    action: 'look',
    paths: [
      '/etc/shadow',
      join(platform.dataDir, 'cli-config.json'),
      platform.dataDir,
      join(platform.dataDir, 'blobs'),
      join(platform.dataDir, 'runner'),
      homedir(),
      repoRoot,
    ],
    ports: [5432, 6379, port(platform.apiUrl), port(platform.runnerUrl), port(platform.directUrl)],
    outside: [`${registry.address}:443`],
    secrets: SECRETS,
    writeTargets: [join(platform.dataDir, 'blobs'), join(platform.dataDir, 'runner'), '/', '/usr/lib64'],
  };
}

/** Host processes whose name is `name`. */
function processesNamed(name: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === name) found.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

describe('a hostile function in its sandbox', () => {
  const platform = new TestPlatform();
  const sources: string[] = [];
  let look: Record<string, unknown>;
  let found: {
    uid: number;
    gid: number;
    uidMap: string;
    processes: { pid: number; comm: string }[];
    leaked: unknown[];
    readable: string[];
    reachedPorts: number[];
    reachedOutside: string[];
    artifactWritable: boolean;
    written: string[];
    root: string[];
  };

  beforeAll(async () => {
    // Idle instances stop after 3 s: the setsid case waits for its instance to go.
    await platform.start({ RUNNER_IDLE_TIMEOUT_MS: '3000' });
    for (const app of ['hostile-a', 'hostile-b', 'hostile-c']) {
      const source = hostileSource();
      sources.push(source);
      await platform.deploy(app, source, { rustTarget: 'native', memoryMb: MEMORY_MB, timeoutMs: 10_000 });
    }
    look = await lookRequest(platform);
    found = ok(await platform.invoke('hostile-a', look)).json;
  });

  afterAll(async () => {
    await platform.stop();
    for (const dir of sources) rmSync(dir, { recursive: true, force: true });
  });

  it('runs as an unprivileged user that is neither root nor the platform, outside as inside', () => {
    expect(found.uid).not.toBe(0);
    expect(found.gid).not.toBe(0);
    // `inside outside count`: the host uid it really is.
    const [inside, outside] = found.uidMap.trim().split(/\s+/).map(Number);
    expect(inside).toBe(found.uid);
    expect(outside).not.toBe(0);
    expect(outside).not.toBe(process.getuid?.());
  });

  it('sees no process but its own and its sandbox’s init', () => {
    expect(found.processes.length).toBeLessThanOrEqual(2);
    for (const { pid } of found.processes) expect(pid).toBeLessThanOrEqual(2);
    expect(found.processes.find((p) => p.pid === 1)?.comm).toBe('ignite-sandbox');
  });

  it('finds no secret of the platform in any environment it can read', () => {
    expect(found.leaked).toEqual([]);
  });

  it('reads none of the host: /etc/shadow, the CLI config, the data directory, the blob store, the home directory', () => {
    expect(found.readable).toEqual([]);
    expect(found.root.sort()).toEqual(['dev', 'etc', 'lib', 'lib64', 'proc', 'scratch', 'tmp', 'usr']);
  });

  it('reaches no platform port (Postgres, Redis, API, runner) and nothing outside', () => {
    expect(found.reachedPorts).toEqual([]);
    expect(found.reachedOutside).toEqual([]);
  });

  it('cannot write its own artifact, the blob store or anything else of the host', () => {
    expect(found.artifactWritable).toBe(false);
    expect(found.written).toEqual([]);
  });

  it('cannot see another instance’s scratch', async () => {
    ok(await platform.invoke('hostile-a', { action: 'write-scratch', name: 'left-by-a' }));
    const b = ok(await platform.invoke('hostile-b', { action: 'list-scratch' })).json;
    expect(b.entries).not.toContain('left-by-a');
    expect(b.tmp).toEqual([]);
    const a = ok(await platform.invoke('hostile-a', { action: 'list-scratch' })).json;
    expect(a.entries).toContain('left-by-a');
  });

  it('contains a fork bomb, and the next invocations of it and of another function answer 200', async () => {
    const bomb = ok(await platform.invoke('hostile-a', { action: 'fork-bomb' })).json;
    expect(bomb.forks).toBeLessThan(1000);
    expect(bomb.error).toMatch(/Resource temporarily unavailable/);
    ok(await platform.invoke('hostile-a', { action: 'hello' }));
    ok(await platform.invoke('hostile-b', { action: 'hello' }));
  });

  it('contains 4 GiB allocated in a child process', async () => {
    const child = ok(await platform.invoke('hostile-b', { action: 'alloc-in-child', mb: 4096 })).json;
    // Killed for memory (SIGKILL from the cgroup) or refused its allocation: never done.
    expect(child).not.toMatchObject({ exited: true, code: 0 });
    ok(await platform.invoke('hostile-b', { action: 'hello' }));
    ok(await platform.invoke('hostile-a', { action: 'hello' }));
  });

  it('takes a setsid grandchild down with its instance', async () => {
    const name = `hostile-${process.pid % 100_000}`;
    ok(await platform.invoke('hostile-c', { action: 'setsid-child', name }));
    await waitFor(() => (processesNamed(name).length === 1 ? true : undefined), 5_000, 'the detached grandchild to run');
    // Idle, the instance is stopped; its sandbox, the grandchild in it, goes too.
    await waitFor(() => (processesNamed(name).length === 0 ? true : undefined), 30_000, 'the detached grandchild to be gone');
    ok(await platform.invoke('hostile-c', { action: 'hello' }));
  });

  it('contains a 10 GiB file in its scratch directory', async () => {
    const fill = await platform.invoke('hostile-b', { action: 'fill-scratch', gb: 10 });
    if (fill.status === 200) {
      expect(fill.json.written).toBeLessThan(10 * 2 ** 30);
      expect(fill.json.error).not.toBe('');
    } else {
      // Scratch is memory: past the instance's memory limit the kernel stops it.
      expect({ status: fill.status, code: fill.json?.code }).toEqual({ status: 500, code: 'function_error' });
    }
    ok(await platform.invoke('hostile-b', { action: 'hello' }));
    ok(await platform.invoke('hostile-a', { action: 'hello' }));
  });
});

describe('the same function with the sandbox off (RUNNER_SANDBOX=none): what the sandbox prevents', () => {
  const platform = new TestPlatform();
  let source = '';

  beforeAll(async () => {
    await platform.start({ RUNNER_SANDBOX: 'none' });
    source = hostileSource();
    await platform.deploy('hostile', source, { rustTarget: 'native', memoryMb: MEMORY_MB, timeoutMs: 10_000 });
  });

  afterAll(async () => {
    await platform.stop();
    rmSync(source, { recursive: true, force: true });
  });

  it('finds the platform’s secrets, files, processes and services', async () => {
    const found = ok(await platform.invoke('hostile', await lookRequest(platform))).json;
    expect(found.uid).toBe(process.getuid?.());
    expect(found.processes.length).toBeGreaterThan(10);
    expect(found.leaked).toEqual(expect.arrayContaining([expect.objectContaining({ variable: 'DATABASE_URL' })]));
    expect(found.readable).toEqual(expect.arrayContaining([join(platform.dataDir, 'cli-config.json'), join(platform.dataDir, 'blobs')]));
    expect(found.reachedPorts).toEqual(expect.arrayContaining([5432, 6379, Number(new URL(platform.apiUrl).port)]));
    expect(found.reachedOutside).toHaveLength(1);
    // Its executable is busy while it runs, but the store it came from is the platform's to write.
    expect(found.written).toEqual(expect.arrayContaining([join(platform.dataDir, 'blobs')]));
  });
});
