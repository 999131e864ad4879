import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Log } from '@kubernetes/client-node';

/** Longest line kept whole; a build printing more without a newline gets it split. */
const MAX_LINE_CHARS = 64 * 1024;

/** `2024-05-01T10:00:00.123456789Z <text>`: the kubelet's `timestamps=true` prefix. */
const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z (.*)$/s;

/** A Writable that cuts what the log endpoint sends into lines. */
class LineSink extends Writable {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {
    super();
    // Log.log pipes the response into this stream and nothing listens for the response's errors
    // (a reset connection, an abort): take them here, or they would crash the process.
    this.on('pipe', (source: Readable) => source.on('error', (error) => this.destroy(error)));
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    while (this.partial.length > MAX_LINE_CHARS) {
      lines.push(this.partial.slice(0, MAX_LINE_CHARS));
      this.partial = this.partial.slice(MAX_LINE_CHARS);
    }
    for (const line of lines) this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    done();
  }

  /** What came after the last newline (a final line without one, or a line cut off by a dropped connection). */
  rest(): string {
    return this.partial + this.decoder.end();
  }
}

interface Session {
  done: boolean;
  ended: Promise<void>;
  controller?: AbortController;
  sink: LineSink;
}

/**
 * Follows a build container's log into `onLine`, as it is written. The log endpoint can close a
 * follow early (the API server or the kubelet drop long streams), so a follow that ends while the
 * container still runs is resumed from the timestamp of the last line seen, and at the end one
 * plain read picks up whatever the follows missed. Lines are requested with timestamps: lines at or
 * before the resume point that were already delivered are skipped, so nothing is logged twice.
 */
export class PodLogFollower {
  private current?: Session;
  private stopped = false;
  /** Timestamp (sortable form) of the last line delivered, and how many lines carried exactly it. */
  private lastKey?: string;
  private lastStamp?: string;
  private linesAtLastKey = 0;

  constructor(
    private readonly logs: Pick<Log, 'log'>,
    private readonly where: { namespace: string; pod: string; container: string },
    private readonly onLine: (line: string) => void,
    private readonly onProblem: (message: string) => void,
  ) {}

  /** A follow was started at some point. */
  get started(): boolean {
    return this.current !== undefined;
  }

  get following(): boolean {
    return this.current !== undefined && !this.current.done;
  }

  /** Starts following, or resumes a follow that ended, unless one is under way. */
  ensureFollowing(): void {
    if (this.stopped || this.following) return;
    this.current = this.open(true);
  }

  /**
   * Once the container has ended: waits (at most `timeoutMs`) for the follow to deliver the rest,
   * then reads the log once more from the last line seen, and delivers a last line without newline.
   */
  async finish(timeoutMs: number): Promise<void> {
    if (this.stopped) return;
    const deadline = Date.now() + timeoutMs;
    if (this.current && !this.current.done) {
      await this.until(this.current, deadline);
      if (!this.current.done) this.current.controller?.abort();
    }
    const catchUp = this.open(false);
    this.current = catchUp;
    await this.until(catchUp, deadline);
    if (!catchUp.done) catchUp.controller?.abort();
    else {
      const rest = catchUp.sink.rest();
      if (rest !== '') this.deliver(rest);
    }
    this.stopped = true;
  }

  /** Stops following at once (cancel, timeout, errors). */
  stop(): void {
    this.stopped = true;
    this.current?.controller?.abort();
    this.current?.sink.destroy();
  }

  private async until(session: Session, deadline: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([session.ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
    clearTimeout(timer);
  }

  private open(follow: boolean): Session {
    // Lines up to the resume point were delivered already (by an earlier session).
    let skipBefore = this.lastKey;
    let skipEqual = this.linesAtLastKey;
    const sink = new LineSink((raw) => {
      const stamped = STAMPED.exec(raw);
      if (stamped && skipBefore !== undefined) {
        const key = sortableStamp(stamped);
        if (key < skipBefore) return;
        if (key === skipBefore && skipEqual > 0) {
          skipEqual -= 1;
          return;
        }
        skipBefore = undefined;
      }
      this.deliver(raw);
    });
    const session: Session = { done: false, sink, ended: Promise.resolve() };
    session.ended = new Promise<void>((resolve) => {
      const end = () => {
        session.done = true;
        resolve();
      };
      sink.once('finish', end);
      sink.once('close', end);
      sink.on('error', () => undefined);
      const { namespace, pod, container } = this.where;
      this.logs
        .log(namespace, pod, container, sink, { follow, timestamps: true, ...(this.lastStamp ? { sinceTime: this.lastStamp } : {}) })
        .then((controller) => {
          session.controller = controller;
          if (this.stopped && follow) controller.abort();
        })
        .catch((error: unknown) => {
          this.onProblem(`could not read the build pod's log: ${(error as Error).message ?? String(error)}`);
          sink.destroy();
          end();
        });
    });
    return session;
  }

  private deliver(raw: string): void {
    const stamped = STAMPED.exec(raw);
    if (!stamped) {
      this.onLine(raw);
      return;
    }
    const key = sortableStamp(stamped);
    if (key === this.lastKey) this.linesAtLastKey += 1;
    else {
      this.lastKey = key;
      this.linesAtLastKey = 1;
    }
    this.lastStamp = `${stamped[1]}${stamped[2] ? `.${stamped[2]}` : ''}Z`;
    this.onLine(stamped[3] ?? '');
  }
}

/** RFC 3339 UTC with nanoseconds padded to 9 digits: compares as a string. */
function sortableStamp(match: RegExpExecArray): string {
  return `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}`;
}
