import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * `RUNNER_INTERNAL_TOKEN`, as both of the runner's ports check it (`x-ignite-internal-token`):
 * compared as SHA-256 digests in constant time. Without a token, everything is accepted.
 */
export class InternalToken {
  private readonly digest: Buffer | null;

  constructor(token: string | undefined) {
    this.digest = token === undefined ? null : sha256(token);
  }

  /** Whether a token is configured (else every caller is accepted). */
  get required(): boolean {
    return this.digest !== null;
  }

  /** Whether `given` (the header's value, as a request carries it) is the token. */
  accepts(given: string | string[] | undefined): boolean {
    if (this.digest === null) return true;
    return typeof given === 'string' && timingSafeEqual(sha256(given), this.digest);
  }
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
