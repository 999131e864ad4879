import { bubblewrapArgs } from './sandbox';

describe('bubblewrapArgs', () => {
  const spec = {
    readOnly: ['/toolchain', '/sdk'],
    writable: ['/data/builds/b1'],
    env: { PATH: '/toolchain/bin:/usr/bin', CARGO_HOME: '/data/cache/cargo' },
    cwd: '/data/builds/b1/project',
    network: false,
  };

  function pairs(args: string[], flag: string): string[][] {
    const found: string[][] = [];
    args.forEach((arg, i) => {
      if (arg === flag) found.push(args.slice(i + 1, i + 3));
    });
    return found;
  }

  it('mounts only what it is told, read-only unless writable', () => {
    const args = bubblewrapArgs(spec, ['cargo', 'build']);
    expect(pairs(args, '--ro-bind')).toEqual([
      ['/usr', '/usr'],
      ['/toolchain', '/toolchain'],
      ['/sdk', '/sdk'],
    ]);
    expect(pairs(args, '--bind')).toEqual([['/data/builds/b1', '/data/builds/b1']]);
    expect(args).not.toContain('/root');
  });

  it('isolates pid, ipc, user and network, and clears the environment before setting its own', () => {
    const args = bubblewrapArgs(spec, ['cargo', 'build']);
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--unshare-user', '--unshare-net', '--die-with-parent', '--clearenv']) {
      expect(args).toContain(flag);
    }
    expect(args.indexOf('--clearenv')).toBeLessThan(args.indexOf('--setenv'));
    expect(pairs(args, '--setenv')).toEqual([
      ['PATH', '/toolchain/bin:/usr/bin'],
      ['CARGO_HOME', '/data/cache/cargo'],
    ]);
  });

  it('shares the network only when asked and ends with the command', () => {
    const args = bubblewrapArgs({ ...spec, network: true }, ['cargo', 'fetch']);
    expect(args).not.toContain('--unshare-net');
    expect(args.slice(-3)).toEqual(['--', 'cargo', 'fetch']);
  });

  it('mounts further directories after the same-path ones, in order, each read-only unless writable', () => {
    const args = bubblewrapArgs(
      {
        ...spec,
        mounts: [
          { source: '/data/builds/b1/cargo-home', dest: '/ignite/cargo-home', writable: true },
          { source: '/data/cache/sources/registry', dest: '/ignite/cargo-home/registry', writable: false },
        ],
      },
      ['cargo', 'build'],
    );
    expect(pairs(args, '--bind')).toEqual([
      ['/data/builds/b1', '/data/builds/b1'],
      ['/data/builds/b1/cargo-home', '/ignite/cargo-home'],
    ]);
    expect(pairs(args, '--ro-bind').at(-1)).toEqual(['/data/cache/sources/registry', '/ignite/cargo-home/registry']);
    expect(args.indexOf('/ignite/cargo-home')).toBeLessThan(args.indexOf('/ignite/cargo-home/registry'));
  });

  it('caps the private /tmp when asked: --size right before its --tmpfs', () => {
    const args = bubblewrapArgs({ ...spec, tmpMaxBytes: 64 << 20 }, ['cargo', 'build']);
    const tmpfs = args.indexOf('--tmpfs');
    expect(args.slice(tmpfs - 2, tmpfs + 2)).toEqual(['--size', String(64 << 20), '--tmpfs', '/tmp']);
    expect(bubblewrapArgs(spec, ['cargo', 'build'])).not.toContain('--size');
  });
});
