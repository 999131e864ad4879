import { statSync } from 'node:fs';
import { bubblewrapArgs, type SandboxSpec } from './sandbox';

/**
 * How a build step's sandbox is started on the host: which host uid it is, and the mounts
 * bubblewrap 0.8 cannot make itself (it has no overlay), made in a mount namespace of the step's
 * own so that nothing is ever mounted on the host and nothing is left behind when it ends.
 *
 * - Worker running as root (`dedicated`): the sandbox runs as an unprivileged host uid of its
 *   own (`BUILD_SANDBOX_UID`, no account needed), not as root. That uid cannot reach what only
 *   root may (a toolchain under /root, a data directory of mode 0700), so the host side first
 *   mounts, as root and in a new mount namespace (`unshare --mount`), a small tmpfs over a
 *   directory everyone may traverse (`stageDir`, /dev/shm usually) and in it each host
 *   directory the sandbox sees (a bind mount) and each overlay (kernel overlayfs: a read-only
 *   lower directory, a private upper one). Then `setpriv` drops to the sandbox uid (no
 *   capabilities, no groups) and bubblewrap, started by that uid, mounts those into the sandbox.
 * - Worker not root (`own`): the sandbox is the worker's own uid (there is no other to use). The
 *   same mounts are made in a user namespace of the step's own (`unshare --user --map-root-user
 *   --mount`; overlayfs mounts there since Linux 5.11), then bubblewrap runs nested in it.
 *
 * Either way the shared caches are protected by the mounts: read-only binds (EROFS whatever the
 * uid) and overlays, whose lower directory is never written. The uid is the second wall: a
 * process that got out of its mount namespace would still be an unprivileged uid owning only the
 * caches' files.
 *
 * A `lock` is taken on the host before anything else, by `flock`, outside the sandbox: the
 * sandbox never sees the lock file, so it cannot hold it beyond its own step; and flock dies with
 * the worker, so an orphaned step cannot hold it either.
 */
export type SandboxIdentity = { kind: 'dedicated'; uid: number; gid: number } | { kind: 'own' };

/** A kernel overlayfs: `lower` read-only, writes (and deletions) going to `upper` (`work` is overlayfs's own). */
export interface OverlaySource {
  lower: string;
  upper: string;
  work: string;
}

export interface LaunchMount {
  /** A host directory (or file), or an overlay made for this step. */
  source: string | OverlaySource;
  /** Its path in the sandbox. */
  dest: string;
  writable: boolean;
}

export interface LaunchSpec extends Omit<SandboxSpec, 'readOnly' | 'writable' | 'mounts'> {
  identity: SandboxIdentity;
  /** An existing directory every uid may traverse, that is none of the sources nor holds one. */
  stageDir: string;
  lock?: { path: string; mode: 'shared' | 'exclusive' };
  /** Everything the sandbox sees of the host besides /usr and a few /etc files, in mount order. */
  mounts: LaunchMount[];
}

/**
 * Run by `sh` in the step's new mount namespace: `$1` the stage directory, `$2` overlayfs options
 * before the directories (`userxattr,` in a user namespace: there overlayfs cannot set its
 * trusted.* attributes, and without them a directory of the lower layer cannot be removed), then
 * `bind SRC` (a directory or a file) or `overlay LOWER UPPER WORK` entries (the i-th mounted at
 * `$stage/i`), then `--` and the command.
 */
const STAGE_SCRIPT = [
  'set -eu',
  'stage=$1; options=$2; shift 2',
  'mount -t tmpfs -o mode=0755,size=1m,nosuid,nodev ignite-build-stage "$stage"',
  'i=0',
  'while [ "$1" != -- ]; do',
  '  if [ "$1" = bind ]; then',
  '    if [ -d "$2" ]; then mkdir "$stage/$i"; else : > "$stage/$i"; fi',
  '    mount --bind "$2" "$stage/$i"; shift 2',
  '  else',
  '    mkdir "$stage/$i"',
  '    mount -t overlay ignite-build-overlay -o "$options""lowerdir=$2,upperdir=$3,workdir=$4" "$stage/$i"; shift 4',
  '  fi',
  '  i=$((i + 1))',
  'done',
  'shift',
  'exec "$@"',
].join('\n');

/** The host command line of a sandboxed step: [flock] unshare sh -c STAGE … [setpriv …] bwrap … -- command. */
export function launchCommand(spec: LaunchSpec, command: string[]): string[] {
  const entries: string[] = [];
  const mounts = spec.mounts.map((mount, index) => {
    if (typeof mount.source === 'string') {
      assertNotUnderStage(mount.source, spec.stageDir);
      entries.push('bind', mount.source);
    } else {
      const { lower, upper, work } = mount.source;
      for (const path of [lower, upper, work]) {
        assertNotUnderStage(path, spec.stageDir);
        // overlayfs's option syntax: these would split or escape the option string.
        if (/[,:\\]/.test(path)) throw new Error(`an overlay path cannot contain ',', ':' or '\\': ${path}`);
      }
      entries.push('overlay', lower, upper, work);
    }
    return { source: `${spec.stageDir}/${index}`, dest: mount.dest, writable: mount.writable };
  });
  const sandbox: SandboxSpec = {
    readOnly: [],
    writable: [],
    mounts,
    env: spec.env,
    cwd: spec.cwd,
    network: spec.network,
    tmpMaxBytes: spec.tmpMaxBytes,
  };
  const bwrap = ['bwrap', ...bubblewrapArgs(sandbox, command)];
  // flock forks the rest: killed with its parent (the worker), so bubblewrap (--die-with-parent)
  // and the lock go with it instead of outliving a worker that died.
  const lock = spec.lock
    ? ['setpriv', '--pdeathsig', 'KILL', '--', 'flock', spec.lock.mode === 'shared' ? '--shared' : '--exclusive', spec.lock.path]
    : [];
  let namespace: string[];
  let then: string[];
  let overlayOptions = '';
  if (spec.identity.kind === 'dedicated') {
    const { uid, gid } = spec.identity;
    if (uid === 0 || gid === 0) throw new Error('the build sandbox uid and gid must not be 0');
    namespace = ['unshare', '--mount', '--propagation', 'private', '--'];
    then = ['setpriv', '--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--inh-caps=-all', '--', ...bwrap];
  } else {
    namespace = ['unshare', '--user', '--map-root-user', '--mount', '--propagation', 'private', '--'];
    then = bwrap;
    overlayOptions = 'userxattr,';
  }
  return [...lock, ...namespace, 'sh', '-c', STAGE_SCRIPT, 'ignite-stage', spec.stageDir, overlayOptions, ...entries, '--', ...then];
}

function assertNotUnderStage(path: string, stageDir: string): void {
  if (path === stageDir || path.startsWith(`${stageDir}/`)) throw new Error(`${path} is under the stage directory ${stageDir}`);
}

/** Where the stage tmpfs can go: the first of these that exists and holds none of `sources`. */
const STAGE_CANDIDATES = ['/dev/shm', '/tmp', '/mnt', '/run'];

export function pickStageDir(sources: string[]): string {
  for (const candidate of STAGE_CANDIDATES) {
    if (!isDirectory(candidate)) continue;
    if (sources.some((source) => source === candidate || source.startsWith(`${candidate}/`))) continue;
    return candidate;
  }
  throw new Error(`no directory to stage the build sandbox's mounts in (tried ${STAGE_CANDIDATES.join(', ')})`);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The uid builds run as: a dedicated unprivileged one when the worker is root, else the worker's own. */
export function resolveSandboxIdentity(configured: { uid: number; gid: number }): SandboxIdentity {
  return process.getuid?.() === 0 ? { kind: 'dedicated', ...configured } : { kind: 'own' };
}
