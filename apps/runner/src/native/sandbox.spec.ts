import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { DEFAULT_LAUNCHER, prepareSandboxes, probeSandbox, releaseSandboxes, SandboxUnavailableError } from './sandbox';
import { Spawner } from './spawner';

const logger = pino({ level: 'silent' });

describe('the runner on a host that lacks what a sandbox needs', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'ignite-sandbox-host-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  const settings = (overrides: Partial<Parameters<typeof prepareSandboxes>[0]> = {}) => ({
    launcher: DEFAULT_LAUNCHER,
    dataDir,
    uidBase: 320_000,
    uidCount: 100,
    standbys: 0,
    tmpMb: 4,
    scratchMb: 4,
    readOnly: [],
    cgroups: 'none' as const,
    ...overrides,
  });

  it('refuses to start without the launcher, naming it and the command that builds it', () => {
    const missing = join(dataDir, 'no-launcher');
    expect(() => prepareSandboxes(settings({ launcher: missing }), logger)).toThrow(SandboxUnavailableError);
    try {
      prepareSandboxes(settings({ launcher: missing }), logger);
    } catch (error) {
      expect((error as SandboxUnavailableError).message).toContain(missing);
      expect((error as SandboxUnavailableError).fix).toMatch(/npm start|cargo build/);
    }
  });

  it('refuses to start when no sandbox can run a program, with the launcher’s own words', async () => {
    // A view without the shared libraries: nothing dynamically linked can start in it.
    const options = prepareSandboxes(settings({ readOnly: ['/nonexistent'] }), logger);
    const spawner = new Spawner(logger, { prlimitPath: null, standbyShell: null, sandbox: options });
    await spawner.start();
    try {
      const failure = await probeSandbox(spawner, options.launcher, 5_000).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SandboxUnavailableError);
      expect((failure as Error).message).toMatch(/^this host cannot make a function sandbox: .*(could not|No such file)/);
      expect((failure as SandboxUnavailableError).fix.length).toBeGreaterThan(0);
    } finally {
      await spawner.close();
      releaseSandboxes(options);
    }
  });

  it('starts when it can: the probe answers ready', async () => {
    const options = prepareSandboxes(settings(), logger);
    const spawner = new Spawner(logger, { prlimitPath: null, standbyShell: null, sandbox: options });
    await spawner.start();
    try {
      await expect(probeSandbox(spawner, options.launcher)).resolves.toBeUndefined();
    } finally {
      await spawner.close();
      releaseSandboxes(options);
    }
  });
});
