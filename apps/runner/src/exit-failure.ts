import { ErrorCode } from '@ignite/contracts';
import type { ExitInfo } from './instance';
import type { ResolvedFunction } from './release-resolver';

/** What the caller of an invocation in flight gets when its instance goes away under it. */
export function exitFailure(info: ExitInfo, fn: ResolvedFunction): { code: ErrorCode; message: string } {
  switch (info.cause) {
    case 'memory':
      return { code: ErrorCode.functionError, message: `the function exceeded its memory limit of ${fn.memoryMb} MiB and was stopped` };
    case 'crashed':
      return {
        code: ErrorCode.functionError,
        message: `the function's process exited while handling the request (${describeExit(info.code, info.signal)})`,
      };
    default:
      return {
        code: ErrorCode.unavailable,
        message: `the function's instance was stopped${info.reason ? ` (${info.reason})` : ''}; retry`,
      };
  }
}

/** `killed by SIGKILL`, `exit code 3`. */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal !== null) return `killed by ${signal}`;
  return `exit code ${code ?? 'unknown'}`;
}
