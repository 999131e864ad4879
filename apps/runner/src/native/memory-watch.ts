import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

interface Watched {
  fd: number;
  limitBytes: number;
  onExceeded: (residentBytes: number) => void;
}

/**
 * Checks the resident memory of every running program, all on one timer, through a descriptor
 * of `/proc/<pid>/statm` kept open per process (re-read in place: no open/close per check, and
 * the descriptor can only ever describe that process, never a later one with a reused pid).
 */
export class MemoryWatcher {
  private readonly watched = new Map<number, Watched>();
  private timer: NodeJS.Timeout | null = null;
  private readonly buffer = Buffer.alloc(256);
  private readonly pageSize = pageSize();

  constructor(private readonly intervalMs: number) {}

  /** Watches `pid`; `onExceeded` is called (once) when its resident memory goes over the limit. */
  watch(pid: number, limitBytes: number, onExceeded: (residentBytes: number) => void): void {
    let fd: number;
    try {
      fd = openSync(`/proc/${pid}/statm`, 'r');
    } catch {
      return; // Already gone, or no procfs: the address-space limit still applies.
    }
    this.watched.set(pid, { fd, limitBytes, onExceeded });
    if (this.timer === null) {
      this.timer = setInterval(() => this.check(), this.intervalMs);
      this.timer.unref();
    }
  }

  unwatch(pid: number): void {
    const entry = this.watched.get(pid);
    if (entry === undefined) return;
    this.watched.delete(pid);
    closeSync(entry.fd);
    if (this.watched.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Resident bytes of a watched process, or null. */
  resident(pid: number): number | null {
    const entry = this.watched.get(pid);
    return entry === undefined ? null : this.read(entry.fd);
  }

  close(): void {
    for (const pid of [...this.watched.keys()]) this.unwatch(pid);
  }

  private check(): void {
    for (const [pid, entry] of this.watched) {
      const resident = this.read(entry.fd);
      if (resident === null) {
        this.unwatch(pid);
      } else if (resident > entry.limitBytes) {
        this.unwatch(pid);
        entry.onExceeded(resident);
      }
    }
  }

  private read(fd: number): number | null {
    try {
      const length = readSync(fd, this.buffer, 0, this.buffer.length, 0);
      // statm: size resident shared text lib data dt (in pages)
      const fields = this.buffer.toString('latin1', 0, length).split(' ');
      const pages = Number(fields[1]);
      return Number.isFinite(pages) ? pages * this.pageSize : null;
    } catch {
      return null;
    }
  }
}

function pageSize(): number {
  try {
    const size = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(size) && size > 0 ? size : 4096;
  } catch {
    return 4096;
  }
}
