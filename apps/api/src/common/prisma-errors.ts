import { Prisma } from '@ignite/database';

/** A unique constraint refused the write (Prisma's P2002). */
export function isUniqueViolation(error: unknown): boolean {
  return error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002';
}

/** A foreign key refused the write (Prisma's P2003): what it points at is gone. */
export function isForeignKeyViolation(error: unknown): boolean {
  if (!(error instanceof Prisma.PrismaClientKnownRequestError)) return false;
  if (error.code === 'P2003') return true;
  // A raw statement's (P2010): the driver adapter's own words.
  const cause = (error.meta as { driverAdapterError?: { cause?: { kind?: string } } } | undefined)?.driverAdapterError?.cause;
  return error.code === 'P2010' && cause?.kind === 'ForeignKeyConstraintViolation';
}

/** Prisma's codes for a database it cannot reach or lost on the way (P1001 can't reach, P1002 timed out, P1008 operation timeout, P1017 connection closed, P2024 no pool connection in time). */
const UNREACHABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
/** The pg driver adapter's kinds for the same. */
const UNREACHABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const UNREACHABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** Postgres could not be reached (down, restarting, unreachable): the request may succeed later. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientInitializationError) return true;
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (UNREACHABLE_CODES.has(error.code)) return true;
    const cause = (error.meta as { driverAdapterError?: { cause?: { kind?: string } } } | undefined)?.driverAdapterError?.cause;
    return cause?.kind !== undefined && UNREACHABLE_KINDS.has(cause.kind);
  }
  if (error instanceof Prisma.PrismaClientUnknownRequestError || error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: NodeJS.ErrnoException }).cause?.code;
    if (code !== undefined && UNREACHABLE_SOCKET_CODES.has(code)) return true;
    return /Connection terminated|Can't reach database server|Server has closed the connection/.test(error.message);
  }
  return false;
}
