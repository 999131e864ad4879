/**
 * The bubblewrap command line a build (or an artifact under verification) runs in. Pure, so it
 * is tested without running anything. Inside: a read-only /usr and toolchain, the build's own
 * directory and the shared caches writable, nothing else of the host's file system, its own PID,
 * IPC, UTS and user namespaces, an unprivileged uid, a cleared environment, and no network unless
 * asked for (only `cargo fetch` gets it).
 */
export interface SandboxSpec {
  /** Read-only directories, mounted at the same path (the toolchain, the SDK, an artifact's directory). */
  readOnly: string[];
  /** Writable directories, mounted at the same path (the build directory, the caches). */
  writable: string[];
  env: Record<string, string>;
  cwd: string;
  network: boolean;
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
    '--tmpfs',
    '/tmp',
  ];
  for (const path of HOST_ETC) args.push('--ro-bind-try', path, path);
  for (const path of spec.readOnly) args.push('--ro-bind', path, path);
  for (const path of spec.writable) args.push('--bind', path, path);
  args.push('--clearenv');
  for (const [key, value] of Object.entries(spec.env)) args.push('--setenv', key, value);
  args.push('--chdir', spec.cwd, '--', ...command);
  return args;
}
