import { StringDecoder } from 'node:string_decoder';
import type { Logger } from '@ignite/service-kit';

/** Longest line logged as one record; a longer one is cut into pieces of this size. */
const MAX_LINE_CHARS = 16 * 1024;
/** Lines kept for diagnostics (why a program would not start, say). */
const TAIL_LINES = 5;

export interface FunctionLogOptions {
  /** Carries functionId, release and instance in its bindings. */
  logger: Logger;
  maxLinesPerSecond: number;
  /** The execution the next line belongs to, when that is knowable (one request in flight). */
  executionId: () => string | undefined;
  /** Sees every line, including those dropped by the rate limit. */
  observe?: (line: string) => void;
  /**
   * Reads where a line comes from, for a program that says it (the wasm host tags each line with
   * its execution); undefined: the line is the function's stderr as it is.
   */
  attribute?: (line: string) => AttributedLine | undefined;
}

/** A line of a program that tags its lines: which stream, which execution, and the text itself. */
export interface AttributedLine {
  stream: string;
  executionId?: string;
  text: string;
  /** The log message (`function log` unless the program speaks of itself). */
  message?: string;
}

/**
 * A program's stderr, line by line, into the runner's log as the function's logs. A program
 * that floods stderr is rate limited (the dropped lines are counted in the log), so it cannot
 * make the runner buffer without bound.
 */
export class FunctionLog {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private windowStart = 0;
  private linesInWindow = 0;
  private dropped = 0;
  private readonly tail: string[] = [];
  private ended = false;

  constructor(private readonly options: FunctionLogOptions) {}

  write(chunk: Buffer): void {
    let text = this.partial + this.decoder.write(chunk);
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.line(text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    while (text.length > MAX_LINE_CHARS) {
      this.line(text.slice(0, MAX_LINE_CHARS));
      text = text.slice(MAX_LINE_CHARS);
    }
    this.partial = text;
  }

  /** The stream ended: log what is left and the count of dropped lines. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.length > 0) this.line(rest);
    this.reportDropped();
  }

  /** The last few lines, for error messages about a program that would not start. */
  lastLines(): readonly string[] {
    return this.tail;
  }

  private line(raw: string): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    this.options.observe?.(text);
    if (text.length > 0) {
      this.tail.push(text);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.reportDropped();
      this.windowStart = now;
      this.linesInWindow = 0;
    }
    if (++this.linesInWindow > this.options.maxLinesPerSecond) {
      this.dropped++;
      return;
    }
    const attributed = this.options.attribute?.(text);
    if (attributed !== undefined) {
      const { message = 'function log', ...fields } = attributed;
      this.options.logger.info(fields, message);
      return;
    }
    const executionId = this.options.executionId();
    if (executionId === undefined) this.options.logger.info({ stream: 'stderr', text }, 'function log');
    else this.options.logger.info({ stream: 'stderr', executionId, text }, 'function log');
  }

  private reportDropped(): void {
    if (this.dropped === 0) return;
    this.options.logger.warn({ dropped: this.dropped, limitPerSecond: this.options.maxLinesPerSecond }, 'function log lines dropped');
    this.dropped = 0;
  }
}
