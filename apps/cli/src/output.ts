import pc from 'picocolors';

/** What a command prints: JSON for scripts (`--json`), aligned and coloured text for people. */
export class Output {
  readonly colors: ReturnType<typeof pc.createColors>;

  constructor(readonly json: boolean) {
    this.colors = pc.createColors(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && !json);
  }

  /** The result: `data` as JSON with --json, else the human text. */
  result(data: unknown, human: () => string): void {
    process.stdout.write(this.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
  }

  /** Progress and notes for people, on stderr so stdout stays clean for pipes. */
  note(text: string): void {
    if (!this.json) process.stderr.write(`${text}\n`);
  }

  table(rows: Record<string, string | number | null | undefined>[], columns: string[]): string {
    if (rows.length === 0) return this.colors.dim('(none)');
    const cells = rows.map((row) => columns.map((column) => String(row[column] ?? '-')));
    const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((row) => row[i]!.length)));
    const line = (values: string[]) =>
      values
        .map((value, i) => value.padEnd(widths[i]!))
        .join('  ')
        .trimEnd();
    return [this.colors.bold(line(columns.map((c) => c.toUpperCase()))), ...cells.map(line)].join('\n');
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
