/** A compiler error of a failed build's summary, and where in the log its message is. */
export interface DiagnosticLink {
  location: string | undefined;
  message: string;
  /** The index of the log line that shows it (cargo's ` --> file:line:col`), when found. */
  line: number | undefined;
}

const LOCATED = /^([^\s:][^:]*:\d+:\d+): (.*)$/s;

/**
 * The worker records each compiler error as `file:line:col: message` (the primary span); the log
 * has cargo's rendering of it, whose ` --> file:line:col` line is where the link goes.
 */
export function diagnosticLinks(diagnostics: unknown, log: readonly string[]): DiagnosticLink[] {
  if (!Array.isArray(diagnostics)) return [];
  return diagnostics
    .filter((entry): entry is string => typeof entry === 'string')
    .map((entry) => {
      const match = LOCATED.exec(entry);
      if (!match) return { location: undefined, message: entry, line: undefined };
      const location = match[1] as string;
      const arrow = log.findIndex((text) => text.includes(`--> ${location}`));
      const line = arrow >= 0 ? arrow : log.findIndex((text) => text.includes(location));
      return { location, message: match[2] as string, line: line >= 0 ? line : undefined };
    });
}
