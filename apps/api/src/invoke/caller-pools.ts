import { Pool } from 'undici';

/**
 * Keep-alive connections to the data plane, a pool per caller and app: the data plane hands a
 * connection to the app's program, bound to the key and the app of its first request, so that a
 * connection must never carry another caller's requests (its bytes reach the program) — and then
 * it costs the data plane nothing per request. The least recently used pool goes when there are
 * more than `maxPools`.
 */
export class CallerPools {
  /** By caller and app; Map order is use order (a pool is moved to the end when used). */
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly origin: string,
    private readonly options: Pool.Options,
    private readonly maxPools = 256,
  ) {}

  /** The pool of `caller` (its Authorization value, or '' for none) calling `app` (`org/app`). */
  for(caller: string, app: string): Pool {
    const key = `${app}\n${caller}`;
    let pool = this.pools.get(key);
    if (pool !== undefined) {
      this.pools.delete(key);
      this.pools.set(key, pool);
      return pool;
    }
    pool = new Pool(this.origin, this.options);
    this.pools.set(key, pool);
    if (this.pools.size > this.maxPools) {
      const [oldestKey, oldest] = this.pools.entries().next().value as [string, Pool];
      this.pools.delete(oldestKey);
      // Requests under way on it finish; its connections close after them.
      void oldest.close().catch(() => oldest.destroy());
    }
    return pool;
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((pool) => pool.close().catch(() => pool.destroy())));
  }
}
