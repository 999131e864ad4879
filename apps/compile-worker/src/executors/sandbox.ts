/**
 * The bubblewrap command line a build (or an artifact under verification) runs in. Pure, so it
 * is tested without running anything. Inside: a read-only /usr and toolchain, what the step must
 * write (its own directories) writable, nothing else of the host's file system, its own PID,
 * IPC, UTS and user namespaces, uid 1000, a cleared environment, a private size-capped /tmp, and
 * no network unless asked for (only `cargo fetch` gets it). Which host uid uid 1000 is depends on
 * who starts bubblewrap: see sandbox-launch.ts.
 */
export interface SandboxSpec {
  /** Read-only directories, mounted at the same path (the toolchain, the SDK, an artifact's directory). */
  readOnly: string[];
  /** Writable directories, mounted at the same path (the build's own directories). */
  writable: string[];
  /**
   * Further mounts, in this order after the ones above, each from a host path to a path of the
   * sandbox (a later one may be mounted inside an earlier one: a private cargo home, then the
   * shared registry read-only inside it).
   */
  mounts?: SandboxMount[];
  env: Record<string, string>;
  cwd: string;
  network: boolean;
  /** Size cap of the private /tmp (a tmpfs, in memory); default: tmpfs's own (half the RAM). */
  tmpMaxBytes?: number;
}

export interface SandboxMount {
  source: string;
  dest: string;
  writable: boolean;
}

/** Host configuration a compiler needs: TLS roots, DNS, and the `cc` → gcc alternatives links. */
const HOST_ETC = [
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/nsswitch.conf',
];

export const SANDBOX_UID = 1000;

export function bubblewrapArgs(spec: SandboxSpec, command: string[]): string[] {
  const args = [
    '--unshare-user',
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_UID),
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(spec.network ? [] : ['--unshare-net']),
    '--die-with-parent',
    '--new-session',
    '--ro-bind',
    '/usr',
    '/usr',
    '--symlink',
    'usr/bin',
    '/bin',
    '--symlink',
    'usr/sbin',
    '/sbin',
    '--symlink',
    'usr/lib',
    '/lib',
    '--symlink',
    'usr/lib64',
    '/lib64',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    ...(spec.tmpMaxBytes === undefined ? [] : ['--size', String(spec.tmpMaxBytes)]),
    '--tmpfs',
    '/tmp',
  ];
  for (const path of HOST_ETC) args.push('--ro-bind-try', path, path);
  for (const path of spec.readOnly) args.push('--ro-bind', path, path);
  for (const path of spec.writable) args.push('--bind', path, path);
  for (const mount of spec.mounts ?? []) args.push(mount.writable ? '--bind' : '--ro-bind', mount.source, mount.dest);
  args.push('--clearenv');
  for (const [key, value] of Object.entries(spec.env)) args.push('--setenv', key, value);
  args.push('--chdir', spec.cwd, '--', ...command);
  return args;
}
