/**
 * Hands out pairs of adjacent ports (`PORT`, `IGNITE_PROBE_PORT`) from a range kept below the
 * kernel's ephemeral range, so outgoing connections never take them. A pair another process
 * holds is found out when the program cannot bind it: the caller reports it with `conflict` and
 * the pair is skipped for a while.
 */
export class PortAllocator {
  private readonly inUse = new Set<number>();
  private readonly avoidUntil = new Map<number, number>();
  private cursor: number;
  private readonly pairs: number;

  constructor(
    private readonly min: number,
    max: number,
    private readonly avoidMs = 60_000,
  ) {
    this.pairs = Math.floor((max - min + 1) / 2);
    if (this.pairs < 1) throw new Error('the instance port range holds no pair of ports');
    // Runners sharing a machine start at different places in the range.
    this.cursor = Math.floor(Math.random() * this.pairs);
  }

  /** The first port of a free pair (the second is the next one). */
  allocate(): number {
    const now = Date.now();
    for (let tried = 0; tried < this.pairs; tried++) {
      const port = this.min + 2 * this.cursor;
      this.cursor = (this.cursor + 1) % this.pairs;
      if (this.inUse.has(port)) continue;
      const avoid = this.avoidUntil.get(port);
      if (avoid !== undefined) {
        if (avoid > now) continue;
        this.avoidUntil.delete(port);
      }
      this.inUse.add(port);
      return port;
    }
    throw new Error('no free instance port pair left');
  }

  release(port: number): void {
    this.inUse.delete(port);
  }

  /** Another process holds (one of) the pair: release it and skip it for a while. */
  conflict(port: number): void {
    this.inUse.delete(port);
    this.avoidUntil.set(port, Date.now() + this.avoidMs);
  }

  get allocated(): number {
    return this.inUse.size;
  }
}
