import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LaunchSpec, launchCommand, pickStageDir } from './sandbox-launch';

describe('launchCommand', () => {
  const spec: LaunchSpec = {
    identity: { kind: 'dedicated', uid: 200100, gid: 200100 },
    stageDir: '/dev/shm',
    mounts: [
      { source: '/opt/rust', dest: '/opt/rust', writable: false },
      {
        source: { lower: '/data/cache/deps', upper: '/data/builds/b1/upper', work: '/data/builds/b1/work' },
        dest: '/ignite/target',
        writable: true,
      },
    ],
    env: { PATH: '/usr/bin' },
    cwd: '/data/builds/b1/src',
    network: false,
    tmpMaxBytes: 1 << 30,
  };

  /** The part after the stage script's `--`: what runs once the mounts are made. */
  function afterStage(command: string[]): string[] {
    return command.slice(command.indexOf('--', command.indexOf('ignite-stage')) + 1);
  }

  it('as root: stages every host directory and overlay in a mount namespace of its own, then drops to the sandbox uid for bubblewrap', () => {
    const command = launchCommand(spec, ['cargo', 'build']);
    expect(command.slice(0, 5)).toEqual(['unshare', '--mount', '--propagation', 'private', '--']);
    const stage = command.indexOf('ignite-stage');
    expect(command.slice(stage + 1, stage + 9)).toEqual([
      '/dev/shm',
      '',
      'bind',
      '/opt/rust',
      'overlay',
      '/data/cache/deps',
      '/data/builds/b1/upper',
      '/data/builds/b1/work',
    ]);
    const rest = afterStage(command);
    expect(rest.slice(0, 8)).toEqual(['setpriv', '--reuid', '200100', '--regid', '200100', '--clear-groups', '--inh-caps=-all', '--']);
    expect(rest[8]).toBe('bwrap');
    // bubblewrap mounts the staged copies at the paths the sandbox expects.
    const bwrap = rest.slice(9);
    expect(bwrap.join(' ')).toContain('--ro-bind /dev/shm/0 /opt/rust');
    expect(bwrap.join(' ')).toContain('--bind /dev/shm/1 /ignite/target');
    expect(bwrap.join(' ')).toContain(`--size ${1 << 30} --tmpfs /tmp`);
    expect(bwrap.slice(-3)).toEqual(['--', 'cargo', 'build']);
  });

  it('not root: the same mounts in a user namespace of its own, bubblewrap nested in it as the worker', () => {
    const command = launchCommand({ ...spec, identity: { kind: 'own' } }, ['cargo', 'build']);
    expect(command.slice(0, 7)).toEqual(['unshare', '--user', '--map-root-user', '--mount', '--propagation', 'private', '--']);
    expect(afterStage(command)[0]).toBe('bwrap');
    expect(command).not.toContain('setpriv');
    // overlayfs keeps its attributes in user.* there.
    expect(command[command.indexOf('ignite-stage') + 2]).toBe('userxattr,');
  });

  it('takes the lock on the host, before anything else', () => {
    // flock forks what follows; it dies with the worker, and bubblewrap with it.
    expect(launchCommand({ ...spec, lock: { path: '/data/cache/deps.lock', mode: 'shared' } }, ['true']).slice(0, 8)).toEqual([
      'setpriv',
      '--pdeathsig',
      'KILL',
      '--',
      'flock',
      '--shared',
      '/data/cache/deps.lock',
      'unshare',
    ]);
    expect(launchCommand({ ...spec, lock: { path: '/l', mode: 'exclusive' } }, ['true']).slice(4, 6)).toEqual(['flock', '--exclusive']);
  });

  it('refuses what it cannot express safely: root as the sandbox, overlay paths with option syntax, sources under the stage', () => {
    expect(() => launchCommand({ ...spec, identity: { kind: 'dedicated', uid: 0, gid: 0 } }, ['true'])).toThrow(/must not be 0/);
    const overlay = { lower: '/a,b', upper: '/u', work: '/w' };
    expect(() => launchCommand({ ...spec, mounts: [{ source: overlay, dest: '/t', writable: true }] }, ['true'])).toThrow(/cannot contain/);
    expect(() => launchCommand({ ...spec, mounts: [{ source: '/dev/shm/x', dest: '/x', writable: false }] }, ['true'])).toThrow(
      /under the stage/,
    );
  });
});

describe('pickStageDir', () => {
  it('takes a directory that holds none of the sources', () => {
    expect(pickStageDir(['/opt/rust'])).toBe('/dev/shm');
    expect(pickStageDir(['/dev/shm/data/builds/b1'])).toBe('/tmp');
  });
});

// The mounts made for real (as root, and as a worker that is not root: a uid of its own via setpriv).
const asRoot = process.getuid?.() === 0 ? describe : describe.skip;

asRoot('launchCommand, run', () => {
  const uid = 200_177;
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ignite-launch-'));
    for (const dir of ['lower/sub', 'lower/dir', 'upper', 'work', 'shared']) mkdirSync(join(root, dir), { recursive: true });
    writeFileSync(join(root, 'lower', 'sub', 'file'), 'original');
    writeFileSync(join(root, 'lower', 'dir', 'inside'), 'original');
    writeFileSync(join(root, 'shared', 'file'), 'original');
    execFileSync('chown', ['-R', `${uid}:${uid}`, root]);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it.each([
    ['root, the sandbox as a dedicated uid', { kind: 'dedicated', uid, gid: uid } as const, []],
    [
      'not root, the sandbox as the worker itself',
      { kind: 'own' } as const,
      ['setpriv', '--reuid', String(uid), '--regid', String(uid), '--clear-groups', '--'],
    ],
  ])('%s: writes and deletions go to the overlay’s upper dir, read-only mounts refuse writes', (_name, identity, prefix) => {
    const command = launchCommand(
      {
        identity,
        stageDir: pickStageDir([root]),
        mounts: [
          {
            source: { lower: join(root, 'lower'), upper: join(root, 'upper'), work: join(root, 'work') },
            dest: '/ignite/target',
            writable: true,
          },
          { source: join(root, 'shared'), dest: '/ignite/shared', writable: false },
        ],
        env: { PATH: '/usr/bin:/bin' },
        cwd: '/',
        network: false,
        tmpMaxBytes: 4 * 1024 * 1024,
      },
      [
        'sh',
        '-c',
        'set -e; echo changed > /ignite/target/sub/file; rm -r /ignite/target/dir; echo new > /ignite/target/new; ' +
          'if echo x > /ignite/shared/file; then echo shared-writable; fi; ' +
          'if head -c 8388608 /dev/zero > /tmp/fill; then echo tmp-unbounded; fi; id -u',
      ],
    );
    const all = [...prefix, ...command];
    const result = spawnSync(all[0]!, all.slice(1), { encoding: 'utf8' });
    expect({ status: result.status, stdout: result.stdout.trim().split('\n').at(-1) }).toEqual({ status: 0, stdout: '1000' });
    expect(result.stdout).not.toMatch(/shared-writable|tmp-unbounded/);
    expect(readFileSync(join(root, 'lower', 'sub', 'file'), 'utf8')).toBe('original');
    expect(readFileSync(join(root, 'lower', 'dir', 'inside'), 'utf8')).toBe('original');
    expect(existsSync(join(root, 'lower', 'new'))).toBe(false);
    expect(readFileSync(join(root, 'upper', 'sub', 'file'), 'utf8')).toBe('changed\n');
    expect(readFileSync(join(root, 'shared', 'file'), 'utf8')).toBe('original');
    // Files the sandbox made on the host belong to the unprivileged uid, never to root.
    expect(statSync(join(root, 'upper', 'new')).uid).toBe(uid);
  });

  it('a step whose worker dies goes with it, and so does its lock', async () => {
    const lock = join(root, 'lock');
    const seconds = (20 + Math.random()).toFixed(6);
    const command = launchCommand(
      {
        identity: { kind: 'dedicated', uid, gid: uid },
        stageDir: pickStageDir([root]),
        lock: { path: lock, mode: 'shared' },
        mounts: [],
        env: { PATH: '/usr/bin:/bin' },
        cwd: '/',
        network: false,
      },
      ['sleep', seconds],
    );
    // A stand-in for the worker: starts the step, then dies.
    spawnSync('sh', ['-c', '"$@" & sleep 1', 'worker', ...command], { stdio: 'ignore' });
    let free = false;
    for (let attempt = 0; attempt < 50 && !free; attempt++) {
      free = spawnSync('flock', ['--nonblock', '--exclusive', lock, 'true']).status === 0;
      if (!free) await new Promise((done) => setTimeout(done, 100));
    }
    expect(free).toBe(true);
    expect(spawnSync('pgrep', ['-u', String(uid), '-f', `^sleep ${seconds}$`]).status).toBe(1);
  });
});
