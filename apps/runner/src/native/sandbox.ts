import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '@ignite/service-kit';
import type { Spawner } from './spawner';
import type { SandboxCgroups, SandboxLimits, SandboxOptions } from './spawner-protocol';

const MiB = 1024 * 1024;
/** Where provisioning puts the launcher (`apps/runner/dist`, from `src/native` or `dist/native`). */
export const DEFAULT_LAUNCHER = resolve(__dirname, '..', '..', 'dist', 'ignite-sandbox');
/** The shared libraries a dynamically linked Rust program loads (libc, libm, libgcc_s, the loader), where they are on Debian and most distributions. */
const LIBRARY_PATHS = ['/lib', '/lib64', '/usr/lib/x86_64-linux-gnu', '/usr/lib64'];
/** A unix socket's path is at most 107 bytes. */
const SOCKET_PATH_BYTES = 100;
const CGROUP_ROOT = '/sys/fs/cgroup';
const BUILD_COMMAND =
  'cargo build --release --locked --manifest-path apps/runner/sandbox/Cargo.toml && cp apps/runner/sandbox/target/release/ignite-sandbox apps/runner/dist/';

/** The host lacks what a sandbox needs: what is missing and the command that fixes it. */
export class SandboxUnavailableError extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

export interface SandboxSettings {
  launcher: string;
  /** The runner's data directory (sockets go under `<dir>/runner/sockets`). */
  dataDir: string;
  uidBase: number;
  uidCount: number;
  standbys: number;
  tmpMb: number;
  scratchMb: number;
  /** Host paths seen read only; empty: the shared library directories. */
  readOnly: string[];
  /** Per-instance cgroups when the host has a writable hierarchy (`auto`), or never (`none`). */
  cgroups: 'auto' | 'none';
}

/**
 * The host side of the sandboxes: the launcher, a uid range (root only: an unprivileged runner
 * maps each sandbox to its own uid), the cgroup hierarchy the instances' cgroups go under (v1 or
 * v2, where this process may write it), and the directory of their listeners. Throws
 * `SandboxUnavailableError` when the launcher is missing; the rest degrades with a warning naming
 * what the fallback covers.
 */
export function prepareSandboxes(settings: SandboxSettings, logger: Logger): SandboxOptions {
  if (!existsSync(settings.launcher)) {
    throw new SandboxUnavailableError(
      `the sandbox launcher is not built (${settings.launcher})`,
      `npm start builds it, or: ${BUILD_COMMAND}`,
    );
  }
  const root = process.getuid?.() === 0;
  if (!root) {
    logger.warn(
      "the runner is not root: every sandbox maps its user to the runner's own uid (namespaces, filesystem view, seccomp and limits still apply)",
    );
  }
  // Unique per runner, also among several in one process (tests); the pid tells a sweep whether it is gone.
  const runnerName = `runner-${process.pid}-${randomBytes(3).toString('hex')}`;
  const cgroup = settings.cgroups === 'none' ? null : cgroupBase(runnerName, logger);
  if (cgroup === null) {
    logger.warn(
      "no writable cgroup hierarchy: an instance's memory is limited per process (RLIMIT_AS and a resident-memory watch of the program), its processes by RLIMIT_NPROC in its user namespace, not as a whole",
    );
  }
  return {
    launcher: settings.launcher,
    socketsDir: socketsDir(settings.dataDir, runnerName),
    uids: root ? { base: settings.uidBase, count: settings.uidCount } : null,
    cgroup,
    readOnly: settings.readOnly.length > 0 ? settings.readOnly : LIBRARY_PATHS.filter((path) => existsSync(path)),
    tmpMb: settings.tmpMb,
    scratchMb: settings.scratchMb,
    standbys: settings.standbys,
  };
}

/** The limits of a probe: enough for the launcher to start, nothing more. */
const PROBE_LIMITS: SandboxLimits = { memoryBytes: 64 * MiB, addressSpaceBytes: null, processes: 16, openFiles: 64, fileSizeBytes: MiB };

/**
 * Starts the launcher's own `probe` program in a sandbox and waits for its `ready`: proof that
 * this host can make one (user namespaces, mounts, seccomp, exec from a descriptor). Throws
 * `SandboxUnavailableError` with the launcher's words otherwise.
 */
export async function probeSandbox(spawner: Spawner, launcher: string, timeoutMs = 10_000): Promise<void> {
  const program = spawner.spawn({
    command: launcher,
    args: ['probe'],
    env: {},
    cwd: '/scratch',
    readyFd: 3,
    sandbox: { files: [], limits: PROBE_LIMITS },
  });
  let said = '';
  program.onStderr = (chunk) => {
    if (said.length < 4096) said += chunk.toString('utf8');
  };
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    program.onReadiness = () => {
      clearTimeout(timer);
      resolve(program.readiness === 'ready');
    };
    void program.exited.then(() => {
      clearTimeout(timer);
      resolve(program.readiness === 'ready');
    });
  });
  program.signal('SIGKILL');
  const status = await program.exited;
  if (ready) return;
  const words = said.trim() || status.spawnError?.message || `the launcher exited (${status.signal ?? `code ${status.code}`})`;
  throw new SandboxUnavailableError(`this host cannot make a function sandbox: ${words}`, fixFor(words));
}

/** The one command that fixes what the launcher said. */
function fixFor(words: string): string {
  if (/user namespaces/.test(words))
    return 'sysctl -w user.max_user_namespaces=65536 (and kernel.unprivileged_userns_clone=1 where the kernel has it)';
  if (/mount \/proc/.test(words))
    return 'run the runner where /proc is not masked (Kubernetes: securityContext.procMount: Unmasked with hostUsers: false; see charts/ignite/README.md)';
  if (/seccomp/.test(words)) return 'run the runner on a kernel with seccomp filters (CONFIG_SECCOMP_FILTER)';
  if (/ENOENT|not built/.test(words)) return `npm start builds the launcher, or: ${BUILD_COMMAND}`;
  return 'RUNNER_SANDBOX=none runs functions without a sandbox, for trusted code only';
}

/**
 * `<dataDir>/runner/sockets/<runner>` (under the system temp directory instead when that would
 * not fit a socket address), owner only; the directories of runners that are gone are removed.
 */
function socketsDir(dataDir: string, runnerName: string): string {
  let base = join(dataDir, 'runner', 'sockets');
  if (Buffer.byteLength(join(base, runnerName, '4294967295.sock')) > SOCKET_PATH_BYTES) {
    base = join(tmpdir(), `ignite-sockets-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
  }
  mkdirSync(base, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(base)) {
    const pid = Number(/^runner-(\d+)-/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || !alive(pid)) rmSync(join(base, name), { recursive: true, force: true });
  }
  const dir = join(base, runnerName);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** The base of this runner's instance cgroups, made and writable, or null. Empty leftovers of earlier runners are removed. */
function cgroupBase(runnerName: string, logger: Logger): SandboxCgroups | null {
  try {
    if (existsSync(join(CGROUP_ROOT, 'memory', 'cgroup.procs'))) {
      const memory = join(CGROUP_ROOT, 'memory', 'ignite');
      const controller = (name: string) => (existsSync(join(CGROUP_ROOT, name, 'cgroup.procs')) ? join(CGROUP_ROOT, name, 'ignite') : null);
      const pids = controller('pids');
      const mine = (dir: string | null) => {
        if (dir === null) return null;
        sweep(dir);
        mkdirSync(join(dir, runnerName), { recursive: true });
        return join(dir, runnerName);
      };
      return { version: 1, memory: mine(memory) as string, pids: mine(pids) };
    }
    if (existsSync(join(CGROUP_ROOT, 'cgroup.controllers'))) {
      const base = join(CGROUP_ROOT, 'ignite');
      sweep(base);
      mkdirSync(join(base, runnerName), { recursive: true });
      // Leaves under the runner's directory get memory and pids (no process lives in the parents).
      for (const dir of [CGROUP_ROOT, base, join(base, runnerName)]) {
        writeFileSync(join(dir, 'cgroup.subtree_control'), '+memory +pids');
      }
      return { version: 2, path: join(base, runnerName) };
    }
  } catch (error) {
    logger.debug({ err: error }, 'no writable cgroup hierarchy');
  }
  return null;
}

/** Removes what runners that are gone left (`<dir>/runner-<pid>/<instance>`, empty by now). */
function sweep(dir: string): void {
  const subdirs = (path: string) => {
    try {
      return readdirSync(path).filter((name) => statSync(join(path, name)).isDirectory());
    } catch {
      return [];
    }
  };
  for (const runner of subdirs(dir)) {
    const pid = Number(/^runner-(\d+)-/.exec(runner)?.[1]);
    if (Number.isInteger(pid) && alive(pid)) continue;
    for (const instance of subdirs(join(dir, runner))) tryRmdir(join(dir, runner, instance));
    tryRmdir(join(dir, runner));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Still in use (another runner's), or already gone.
  }
}

/** Removes this runner's cgroup directories and listener directory (once its sandboxes are gone). */
export function releaseSandboxes(options: SandboxOptions): void {
  const cgroup = options.cgroup;
  const dirs = cgroup === null ? [] : cgroup.version === 1 ? [cgroup.memory, cgroup.pids] : [cgroup.path];
  for (const dir of dirs) if (dir !== null) tryRmdir(dir);
  rmSync(options.socketsDir, { recursive: true, force: true });
}
