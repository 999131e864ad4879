import type { AttributedLine } from '../logs/function-log';

/** `exec <execution-id> stdout|stderr <text>`: a line the guest wrote while serving that execution. */
const EXEC_LINE = /^exec (\S+) (stdout|stderr)(?: (.*))?$/s;
/** `host <execution-id> <text>` (the host about that execution) or `host - <text>` (about itself). */
const HOST_LINE = /^host (\S+)(?: (.*))?$/s;

/**
 * Where a line of the wasm host's stderr comes from (its format: apps/runner/wasm-host/README.md,
 * "stderr"). One host serves many executions at once, so every line of a guest carries its
 * execution id, and so does the host's word about one (why it was stopped, a trap after it
 * answered): those are the function's log. The host's lines about itself (serving, stopping, its
 * figures, a start error) are the runner's `wasm host` records. Anything else (a panic of the host
 * itself) is logged as the host's stderr.
 */
export function attributeHostLine(line: string): AttributedLine {
  const exec = EXEC_LINE.exec(line);
  if (exec !== null) return { stream: exec[2]!, executionId: exec[1]!, text: exec[3] ?? '' };
  const host = HOST_LINE.exec(line);
  if (host !== null) {
    const text = host[2] ?? '';
    if (host[1] === '-') return { stream: 'host', text, message: 'wasm host' };
    return { stream: 'host', executionId: host[1]!, text };
  }
  return { stream: 'stderr', text: line, message: 'wasm host' };
}

/** A start error's words (`host - error: <reason>`), for the start failure's message. */
export function hostStartError(lines: readonly string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = /^host - error: (.*)$/s.exec(lines[i]!);
    if (match !== null) return match[1];
  }
  return lines.at(-1);
}
