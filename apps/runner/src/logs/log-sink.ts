import type { FunctionLogStream } from '@ignite/contracts';

/** The instance lines come from: an app's release, and which run of its program. */
export class LogSource {
  /** The place of the instance's next line in its log (with `instanceId`, what makes a line stored once). */
  next = 0;

  constructor(
    readonly appId: string,
    readonly releaseId: string,
    readonly instanceId: string,
  ) {}
}

/** One line of a function's log, as the runner read it. */
export interface SinkLine {
  stream: FunctionLogStream;
  text: string;
  executionId: string | undefined;
  /** When it was read, ms since the Unix epoch. */
  at: number;
}

/**
 * Where functions' log lines go for their owners. The embedded default is `LogShipper` (a Redis
 * stream the API stores in Postgres); a deployment that runs a log store sends them there instead
 * (an OTLP logs exporter to an OpenTelemetry collector is the one to write next: it reaches Loki,
 * OpenSearch and the clouds' stores alike). `write` is called on the runner's event loop for every
 * line: it must not block or throw.
 */
export interface FunctionLogSink {
  write(source: LogSource, line: SinkLine): void;
}
