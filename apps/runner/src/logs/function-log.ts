import { StringDecoder } from 'node:string_decoder';
import { type FunctionLogStream, MAX_FUNCTION_LOG_LINE_CHARS } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { FunctionLogSink, LogSource } from './log-sink';

/** Lines kept for diagnostics (why a program would not start, say). */
const TAIL_LINES = 5;
/** Executions whose dropped lines are counted apart in a window; the rest are counted together. */
const MAX_DROP_COUNTS = 16;
/**
 * A line the SDK tagged with its invocation (sdk/ignite-rs/ignite/src/log.rs): the record
 * separator, then `exec <execution-id> stdout|stderr <text>`.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the record separator is the tag
const TAGGED_LINE = /^\u001eexec (\S+) (stdout|stderr)(?: (.*))?$/s;

export interface FunctionLogOptions {
  /** The instance's own log (the runner's): what a program says of itself, and the function's lines at debug level. */
  logger: Logger;
  /** Where the function's lines go for its owner. */
  sink: FunctionLogSink;
  source: LogSource;
  maxLinesPerSecond: number;
  /** The execution an untagged line belongs to, when that is knowable (one proxied request in flight). */
  executionId: () => string | undefined;
  /** Sees every line, including those dropped by the rate limit. */
  observe?: (line: string) => void;
  /**
   * Reads where a line comes from, for a program that says it of every line (the wasm host tags
   * each with its execution); undefined: lines the SDK tagged, else the function's stderr as it is.
   */
  attribute?: (line: string) => AttributedLine;
}

/** A line with where it comes from: which stream, which execution, and the text itself. */
export interface AttributedLine {
  stream: string;
  executionId?: string;
  text: string;
  /** The program speaking of itself (not the function's log): the message of its record in the runner's log. */
  message?: string;
}

/**
 * A program's stderr, line by line, as the function's log: each line with the execution it
 * belongs to where that is known, to the sink (the owner reads it through the API). A program
 * that floods stderr is rate limited per instance (what was dropped is counted in a `platform`
 * line), so it cannot make the runner buffer without bound; a line longer than
 * `MAX_FUNCTION_LOG_LINE_CHARS` is cut in pieces.
 */
export class FunctionLog {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private windowStart = 0;
  private linesInWindow = 0;
  /** Lines dropped in this window, by the execution they belonged to ('' for none known). */
  private dropped = new Map<string, number>();
  private readonly tail: string[] = [];
  private ended = false;
  /** Says what was dropped at the window's end even when no line comes after the flood. */
  private dropTimer: NodeJS.Timeout | null = null;

  constructor(private readonly options: FunctionLogOptions) {}

  write(chunk: Buffer): void {
    let text = this.partial + this.decoder.write(chunk);
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      this.line(text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    while (text.length > MAX_FUNCTION_LOG_LINE_CHARS) {
      this.line(text.slice(0, MAX_FUNCTION_LOG_LINE_CHARS));
      text = text.slice(MAX_FUNCTION_LOG_LINE_CHARS);
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

  /** A line of the platform's about this instance (why it was stopped, say), in the function's log. */
  platform(text: string, executionId?: string): void {
    this.options.sink.write(this.options.source, { stream: 'platform', text, executionId, at: Date.now() });
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
    const line = this.attribute(text);
    if (line.message !== undefined) {
      // The program about itself: the runner's record, not the function's log (nor its budget).
      this.options.logger.info({ stream: line.stream, executionId: line.executionId, text: line.text }, line.message);
      return;
    }
    if (++this.linesInWindow > this.options.maxLinesPerSecond) {
      // Counted per execution (a few: an instance's invocations at once), then as one.
      const execution = this.dropped.size < MAX_DROP_COUNTS || this.dropped.has(line.executionId ?? '') ? (line.executionId ?? '') : '';
      this.dropped.set(execution, (this.dropped.get(execution) ?? 0) + 1);
      if (this.dropTimer === null) {
        this.dropTimer = setTimeout(
          () => {
            this.dropTimer = null;
            this.reportDropped();
          },
          this.windowStart + 1000 - now,
        );
        this.dropTimer.unref();
      }
      return;
    }
    const stream: FunctionLogStream = line.stream === 'stdout' ? 'stdout' : line.stream === 'stderr' ? 'stderr' : 'platform';
    this.options.sink.write(this.options.source, { stream, executionId: line.executionId, text: line.text, at: now });
    if (this.options.logger.isLevelEnabled('debug')) {
      this.options.logger.debug({ stream, executionId: line.executionId, text: line.text }, 'function log');
    }
  }

  private attribute(text: string): AttributedLine {
    if (this.options.attribute !== undefined) return this.options.attribute(text);
    if (text.charCodeAt(0) === 0x1e) {
      const tagged = TAGGED_LINE.exec(text);
      if (tagged !== null) return { stream: tagged[2]!, executionId: tagged[1]!, text: tagged[3] ?? '' };
    }
    const executionId = this.options.executionId();
    return executionId === undefined ? { stream: 'stderr', text } : { stream: 'stderr', executionId, text };
  }

  private reportDropped(): void {
    if (this.dropTimer !== null) {
      clearTimeout(this.dropTimer);
      this.dropTimer = null;
    }
    if (this.dropped.size === 0) return;
    const limit = this.options.maxLinesPerSecond;
    let total = 0;
    for (const [execution, count] of this.dropped) {
      total += count;
      this.platform(
        `${count} log lines dropped: more than ${limit} lines a second from one instance (the runner's RUNNER_FUNCTION_LOG_LINES_PER_SECOND)`,
        execution === '' ? undefined : execution,
      );
    }
    this.options.logger.warn({ dropped: total, limitPerSecond: limit }, 'function log lines dropped');
    this.dropped.clear();
  }
}
