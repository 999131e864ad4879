import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@ignite/testing';

// Where `npm start` and `npm test` put the `dodil` and `ignite` launchers, and what they leave
// alone (scripts/platform/cli-launchers.mts, run as the provisioning script runs it: Node 24
// importing the module). The launchers at work: test/cli-lifecycle.spec.ts.
const launchers = join(repoRoot, 'scripts', 'platform', 'cli-launchers.mts');

function run(code: string, env: Record<string, string>): { stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', code], {
    env: { PATH: '/usr/bin:/bin', ...env },
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`the script failed (${result.status}): ${result.stderr}`);
  return { stdout: result.stdout, stderr: result.stderr };
}

describe('the CLI launchers', () => {
  let home: string;

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'ignite-launchers-'));
  });

  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const dirFor = (path: string, writable: string[]) =>
    JSON.parse(
      run(
        `import { launcherDir } from ${JSON.stringify(launchers)};
         const writable = new Set(${JSON.stringify(writable)});
         console.log(JSON.stringify(launcherDir({ PATH: ${JSON.stringify(path)} }, ${JSON.stringify(home)}, (d) => writable.has(d))));`,
        {},
      ).stdout,
    );

  it('picks the first writable directory of ~/.local/bin, ~/bin and /usr/local/bin that is on PATH', () => {
    const local = join(home, '.local', 'bin');
    const bin = join(home, 'bin');
    expect(dirFor(`/usr/bin:${bin}:${local}`, [local, bin])).toEqual({ dir: local, onPath: true });
    expect(dirFor(`/usr/bin:${bin}:${local}`, [bin])).toEqual({ dir: bin, onPath: true });
    expect(dirFor('/usr/local/bin:/usr/bin', ['/usr/local/bin'])).toEqual({ dir: '/usr/local/bin', onPath: true });
    // None: ~/.local/bin, and the provisioning says which line to add to the profile.
    expect(dirFor('/usr/bin:/bin', [])).toEqual({ dir: local, onPath: false });
  });

  it('says how to put the directory on PATH when it is not', () => {
    const { stderr } = run(
      `import { installCliLaunchers } from ${JSON.stringify(launchers)};
       installCliLaunchers(${JSON.stringify(repoRoot)}, { takeOver: true });`,
      { HOME: home },
    );
    expect(stderr).toContain(`dodil and ignite in ${join(home, '.local', 'bin')} now run this clone's CLI`);
    expect(stderr).toContain(`export PATH="${join(home, '.local', 'bin')}:$PATH"`);
    expect(readFileSync(join(home, '.local', 'bin', 'dodil'), 'utf8')).toContain(`# ignite-cli-launcher root=${repoRoot}`);
  });

  it("leaves a command that is not Ignite's alone, and npm test leaves another live clone's launcher", () => {
    const dir = join(home, 'bin');
    mkdirSync(dir);
    writeFileSync(join(dir, 'dodil'), '#!/bin/sh\necho somebody else\n');
    const otherClone = mkdtempSync(join(tmpdir(), 'ignite-other-clone-'));
    mkdirSync(join(otherClone, 'apps', 'cli', 'bin'), { recursive: true });
    writeFileSync(join(otherClone, 'apps', 'cli', 'bin', 'ignite.js'), '');
    const install = (takeOver: boolean, root = repoRoot) =>
      run(
        `import { installCliLaunchers } from ${JSON.stringify(launchers)};
         installCliLaunchers(${JSON.stringify(root)}, { takeOver: ${takeOver} });`,
        { HOME: home, IGNITE_CLI_BIN_DIR: dir },
      );
    try {
      expect(install(true, otherClone).stderr).toContain(`${join(dir, 'dodil')} is not Ignite's launcher; left as it is`);
      expect(readFileSync(join(dir, 'dodil'), 'utf8')).toBe('#!/bin/sh\necho somebody else\n');
      expect(readFileSync(join(dir, 'ignite'), 'utf8')).toContain(`root=${otherClone}`);
      // npm test in this clone: the other clone is alive, its launcher stays.
      install(false);
      expect(readFileSync(join(dir, 'ignite'), 'utf8')).toContain(`root=${otherClone}`);
      // Once the other clone is gone (a CI run's), npm test takes the launcher over; npm start always does.
      rmSync(otherClone, { recursive: true, force: true });
      install(false);
      expect(readFileSync(join(dir, 'ignite'), 'utf8')).toContain(`root=${repoRoot}`);
    } finally {
      rmSync(otherClone, { recursive: true, force: true });
    }
  });
});
