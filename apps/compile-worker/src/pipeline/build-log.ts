import type { LogStream } from '../executors/build-executor';

type Line = { seq: number; stream: LogStream; text: string };

/**
 * Collects a build's log lines and writes them in small batches, in order, so lines reach the
 * API's follow mode within a fraction of a second without a database write per line.
 */
export class BuildLog {
  private pending: Line[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private nextSeq: number,
    private readonly write: (lines: Line[]) => Promise<void>,
    flushEveryMs = 150,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs);
  }

  line(stream: LogStream, text: string): void {
    this.pending.push({ seq: this.nextSeq++, stream, text });
    if (this.pending.length >= 500) void this.flush();
  }

  flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.flushing = this.flushing.then(() => this.write(batch)).catch(() => undefined);
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
