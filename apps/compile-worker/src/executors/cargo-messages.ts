/**
 * Cargo's `--message-format=json` output: compiler messages become the human-readable text a
 * person expects in the log, and errors are summarized as `file:line:col: message`.
 */

interface CompilerMessage {
  reason: 'compiler-message';
  message: {
    level: string;
    message: string;
    rendered?: string | null;
    spans?: { file_name: string; line_start: number; column_start: number; is_primary: boolean }[];
  };
}

export type CargoLine = { kind: 'text'; text: string } | { kind: 'diagnostic'; text: string; error?: string } | { kind: 'ignored' };

export function parseCargoStdoutLine(line: string): CargoLine {
  if (!line.startsWith('{')) return { kind: 'text', text: line };
  let parsed: { reason?: string };
  try {
    parsed = JSON.parse(line);
  } catch {
    return { kind: 'text', text: line };
  }
  if (parsed.reason !== 'compiler-message') return { kind: 'ignored' };
  const { message } = parsed as CompilerMessage;
  const text = (message.rendered ?? message.message).replace(/\n$/, '');
  if (message.level !== 'error' && message.level !== 'error: internal compiler error') return { kind: 'diagnostic', text };
  const primary = message.spans?.find((span) => span.is_primary);
  const where = primary ? `${primary.file_name}:${primary.line_start}:${primary.column_start}: ` : '';
  return { kind: 'diagnostic', text, error: `${where}${message.message}` };
}
