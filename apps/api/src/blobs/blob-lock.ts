/**
 * The Postgres advisory-lock key that serializes "does anything still reference this blob?"
 * with "this row now references it". Any writer that adds a reference to an existing blob takes
 * `pg_advisory_xact_lock(hashtextextended(blobLockKey(sha256), 0))` in the same transaction.
 */
export function blobLockKey(sha256: string): string {
  return `ignite:blob:${sha256}`;
}
