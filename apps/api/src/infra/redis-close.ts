import type { Redis } from 'ioredis';

/**
 * Closes a connection without hanging on a Redis that is down: QUIT when connected (bounded in
 * time), otherwise (or if QUIT does not answer) a plain disconnect that also fails pending commands.
 */
export async function closeRedis(connection: Redis, timeoutMs = 2_000): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status !== 'ready') {
    connection.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      connection.quit(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('QUIT timed out')), timeoutMs);
      }),
    ]);
  } catch {
    connection.disconnect();
  } finally {
    clearTimeout(timer);
  }
}
