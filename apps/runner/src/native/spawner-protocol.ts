/**
 * Messages between the runner and its spawn helper (`spawner-main.cts`), over the helper's IPC
 * channel. Starting a program means a fork of the process that starts it, and a fork costs in
 * proportion to that process's memory: the runner (Prisma, pools, caches) pays several times
 * what a small helper pays, and blocks its event loop meanwhile. So the helper starts the
 * programs, hands their pipes (stderr, ready descriptor, messages) over to the runner, and
 * reports their exits.
 */

import type { DirectAccess } from '@ignite/contracts';

export interface SpawnRequest {
  type: 'spawn';
  id: number;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** The program's descriptor 3 is a pipe: `ready` on it means it listens. */
  readyFd: number;
  /**
   * Direct connections: the program gets a Node IPC channel on descriptor 4 (`NODE_CHANNEL_FD`),
   * where connections are handed to it, and a pipe on descriptor 5 for what it tells the runner
   * (JSON lines: reports, released connections), which goes to the runner as it is (`messages`).
   */
  channel?: boolean;
  /** Resource limits the program starts under (soft and hard); absent: none. */
  limits?: ResourceLimits;
  /** What a program started in a sandbox gets (required when the helper has `sandbox`). */
  sandbox?: SandboxStart;
}

/** A sandboxed program's limits and the host files it gets as descriptors. */
export interface SandboxStart {
  files: PassedFile[];
  limits: SandboxLimits;
}

/** A host file the sandboxed program gets as descriptor `fd` (7 or above), opened by the launcher. */
export interface PassedFile {
  fd: number;
  path: string;
  write?: boolean;
}

/** Limits of a whole sandboxed instance, its children included (see apps/runner/sandbox). */
export interface SandboxLimits {
  /** The instance's cgroup memory limit (where it has a cgroup). */
  memoryBytes: number | null;
  /** RLIMIT_AS of each process; null: none. */
  addressSpaceBytes: number | null;
  /** Processes and threads (`pids.max`, RLIMIT_NPROC counted in the sandbox's user namespace). */
  processes: number;
  /** RLIMIT_NOFILE. */
  openFiles: number;
  /** RLIMIT_FSIZE. */
  fileSizeBytes: number;
}

/**
 * The sandbox every program starts in: the launcher (`ignite-sandbox`, apps/runner/sandbox) made
 * ahead of need per descriptor layout, which builds a sandbox and waits for its program.
 */
export interface SandboxOptions {
  launcher: string;
  /** Where each sandbox's HTTP listener (a unix socket) is bound: `<dir>/<number>.sock`. */
  socketsDir: string;
  /** Host uids (and gids) the sandboxes' user maps to, one per sandbox; null: the launcher's own. */
  uids: { base: number; count: number } | null;
  /** Where each sandbox's cgroup is made (`<base>/<number>`); null: the host offers none. */
  cgroup: SandboxCgroups | null;
  /** Host paths the sandbox sees read only (the shared libraries). */
  readOnly: string[];
  tmpMb: number;
  scratchMb: number;
  /** Sandboxes kept made ahead of need per descriptor layout (at least one is made at a start that finds none). */
  standbys: number;
}

/**
 * Base directories of the sandboxes' cgroups (memory and pids; no cpu group: on the direct port a
 * cpu group, even one for all sandboxes, cost a quarter of the CPU per invocation, measured).
 */
export type SandboxCgroups = { version: 1; memory: string | null; pids: string | null } | { version: 2; path: string };

/** Applied by the helper: through `prlimit` when it forks, with the shell's `ulimit` when a standby starts it. */
export interface ResourceLimits {
  /** RLIMIT_AS in bytes; null: not limited. RLIMIT_CORE is 0 whenever limits are given. */
  addressSpaceBytes: number | null;
}

/** How the runner starts its spawn helper (its one argument, as JSON). */
export interface HelperOptions {
  /** `prlimit`, to apply `limits` to a program the helper forks. */
  prlimitPath: string | null;
  /** Start every program in a sandbox of its own; null: as a plain process (trusted code only). */
  sandbox: SandboxOptions | null;
  /**
   * A POSIX shell (dash) the helper keeps started ahead of time, one per descriptor layout: a
   * start then writes it a script that sets the limits, the environment and the directory and
   * `exec`s the program, instead of forking the helper and exec'ing `prlimit` first. Null: every
   * start is a fork.
   */
  standbyShell: string | null;
}

/**
 * Sent with a caller's socket as the message's handle (the runner keeps its own copy): the
 * helper passes it on to the program's channel as `{type: 'connection', slot, head, cold, access}`.
 */
export interface HandoffRequest {
  type: 'handoff';
  id: number;
  slot: number;
  /** What the runner already read from the connection, base64. */
  head: string;
  cold: boolean;
  /** A connection of the public route: its terms (absent: the internal route). */
  access?: DirectAccess;
}

export interface SignalRequest {
  type: 'signal';
  id: number;
  signal: NodeJS.Signals;
}

/** A message for the program's channel (`{type: 'drain'}`: give every direct connection back). */
export interface TellRequest {
  type: 'tell';
  id: number;
  message: unknown;
}

export type ToHelper = SpawnRequest | SignalRequest | HandoffRequest | TellRequest;

/**
 * The pipes of a program the runner reads itself: its stderr, its ready descriptor's read end, and
 * with a channel its message pipe (descriptor 5: JSON lines, see `InstanceConnections`).
 */
export type ProgramPipe = 'stderr' | 'messages' | 'ready';

export type FromHelper =
  /** Sent with one of a forked program's pipes as the message's handle (after its `spawned`). */
  | { type: 'pipe'; id: number; pipe: ProgramPipe }
  /**
   * Sent with one pipe of a standby shell as the message's handle, when the standby is forked: a
   * start from it then sends no handle (each handle waits for the runner's acknowledgement before
   * anything else goes out, readiness included).
   */
  | { type: 'standby-pipe'; standby: number; pipe: ProgramPipe }
  /** The standby went away unused: the runner closes its pipes. */
  | { type: 'standby-gone'; standby: number }
  /**
   * The program runs. `standby`: a standby shell started it (no fork on the way), and its pipes are
   * the ones the runner got as that standby's.
   *
   * `pid`: a sandboxed program's own host pid (signals go to its launcher's process group, which
   * the program is in); `listener`: a sandboxed program's HTTP listener.
   */
  | { type: 'spawned'; id: number; pid: number; standby?: number; listener?: string }
  /** A handed-off connection could not be passed on (the program is gone): the runner still has it. */
  | { type: 'handoff-failed'; id: number; slot: number }
  /** Gone; `spawnError` when it could not be started at all. */
  | {
      type: 'exit';
      id: number;
      code: number | null;
      signal: NodeJS.Signals | null;
      spawnError?: { code: string; message: string };
      /** The kernel killed a process of the sandbox's cgroup for memory. */
      outOfMemory?: boolean;
    };
