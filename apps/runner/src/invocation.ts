import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ErrorCode, httpStatusOf, headers as igniteHeaders } from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { Admission } from './data-plane/limits';
import { sendError } from './errors';
import { exitFailure } from './exit-failure';
import type { Exchange, ExitInfo, FlowControl, ProxyRequest, ResponseSink } from './instance';
import type { Metrics } from './metrics';
import type { InstancePool, Lease } from './pool';
import type { ResolvedFunction } from './release-resolver';
import type { InvocationReporter } from './reporter';

/** After a broken exchange, how long to wait for the instance's exit (a crash explains it better than "connection closed"). */
const EXIT_GRACE_MS = 250;
/** An answer of a known length up to this size is relayed in one write (head and body together). */
const WHOLE_ANSWER_BYTES = 64 * 1024;
/** How much of an error answer is kept to report its message. */
const ERROR_CAPTURE_BYTES = 4096;
/** Not relayed from the program's answer (connection-level, or set by the runner). */
const SKIPPED_RESPONSE_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
  igniteHeaders.executionId,
  igniteHeaders.cold,
  igniteHeaders.release,
  igniteHeaders.durationMs,
]);
/** Status reported when the caller went away before the answer was complete (nginx's convention). */
export const CALLER_CLOSED = 499;

export interface InvocationDeps {
  pool: InstancePool;
  reporter: InvocationReporter;
  metrics: Metrics;
  logger: Logger;
}

/**
 * One invocation on an instance: relays the answer to the caller as it comes, enforces the
 * time limit, turns every way an instance can fail into a JSON error, then frees the slot and
 * reports the invocation.
 */
export class Invocation implements ResponseSink {
  private settled = false;
  private exchange: Exchange | null = null;
  private readonly timer: NodeJS.Timeout;
  private grace: NodeJS.Timeout | null = null;
  private status = 0;
  private flow: FlowControl | null = null;
  private captured: Buffer[] | null = null;
  private capturedBytes = 0;
  /** The body of a small answer, held until its end; null: relayed as it comes (streams, large bodies). */
  private whole: Buffer[] | null = null;
  /** The headers of a small answer, written with its body. */
  private head: OutgoingHttpHeaders | null = null;

  constructor(
    private readonly deps: InvocationDeps,
    private readonly res: ServerResponse,
    private readonly fn: ResolvedFunction,
    private readonly lease: Lease,
    private readonly startedAt: number,
    private readonly at: number,
    /** Its hold on the public route's limits (null: the internal route has none). */
    private readonly admission: Admission | null = null,
  ) {
    this.timer = setTimeout(this.onTimeout, fn.timeoutMs + (lease.instance.ownTimeLimitGraceMs ?? 0));
  }

  run(request: ProxyRequest): void {
    this.lease.onInstanceExit = this.onInstanceExit;
    this.res.on('close', this.onCallerClose);
    this.exchange = this.lease.instance.exchange(request, this);
  }

  start(status: number, upstream: IncomingHttpHeaders, flow: FlowControl): void {
    if (this.settled) return;
    this.status = status;
    this.flow = flow;
    const out: OutgoingHttpHeaders = this.runnerHeaders();
    for (const name in upstream) {
      if (!SKIPPED_RESPONSE_HEADERS.has(name)) out[name] = upstream[name];
    }
    if (status >= 400) this.captured = [];
    const length = upstream['content-length'];
    if (length !== undefined && Number(length) <= WHOLE_ANSWER_BYTES) {
      // Held until the end: one write, and a clean JSON error if the program fails meanwhile.
      this.whole = [];
      this.head = out;
    } else if (!this.writeHead(status, out)) {
      this.exchange?.abort(new Error('unrelayable headers'));
    }
  }

  data(chunk: Buffer): boolean {
    if (this.settled) return true;
    if (this.captured !== null && this.capturedBytes < ERROR_CAPTURE_BYTES) {
      this.captured.push(chunk);
      this.capturedBytes += chunk.length;
    }
    if (this.whole !== null) {
      this.whole.push(chunk);
      return true;
    }
    const flowing = this.res.write(chunk);
    if (!flowing) this.res.once('drain', this.onDrain);
    return flowing;
  }

  end(): void {
    if (this.settled) return;
    const whole = this.whole;
    if (whole === null) this.res.end();
    else {
      if (!this.writeHead(this.status, this.head ?? {})) return;
      this.res.end(whole.length === 1 ? whole[0] : Buffer.concat(whole));
    }
    this.settle(this.status, this.capturedError());
  }

  /** Node refuses some header values HTTP parsers accept: that is the program's fault, a 502. */
  private writeHead(status: number, headers: OutgoingHttpHeaders): boolean {
    try {
      this.res.writeHead(status, headers);
      return true;
    } catch {
      this.fail(ErrorCode.badGateway, 'the function answered with a status or headers that cannot be relayed');
      return false;
    }
  }

  error(error: Error): void {
    if (this.settled || this.grace !== null) return;
    // If the process died, its exit (with the cause) follows within moments.
    this.grace = setTimeout(() => this.onBroken(error), EXIT_GRACE_MS);
  }

  private readonly onDrain = () => this.flow?.resume();

  private readonly onTimeout = () => {
    if (this.settled) return;
    this.exchange?.abort(new Error('the invocation ran past its time limit'));
    this.fail(
      ErrorCode.functionTimeout,
      `the function did not finish within its time limit of ${this.fn.timeoutMs} ms`,
      'an invocation ran past its time limit',
    );
  };

  private readonly onInstanceExit = (info: ExitInfo) => {
    if (this.settled) return;
    this.exchange?.abort(new Error('the instance exited'));
    const { code, message } = exitFailure(info, this.fn);
    this.fail(code, message);
  };

  private readonly onCallerClose = () => {
    if (this.settled) return;
    this.exchange?.abort(new Error('the caller went away'));
    this.settle(CALLER_CLOSED, 'the caller closed the connection before the answer was complete');
  };

  private onBroken(error: Error): void {
    this.grace = null;
    if (this.settled) return;
    const code = (error as NodeJS.ErrnoException).code ?? '';
    let message: string;
    if (error.name === 'HTTPParserError' || code.startsWith('HPE_')) message = 'the function answered with a malformed HTTP response';
    else if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')
      message = this.res.headersSent
        ? 'the function closed the connection in the middle of its answer'
        : 'the function closed the connection without answering';
    else if (code === 'ECONNREFUSED') message = 'the function is not accepting connections';
    else message = `the exchange with the function failed (${code || error.message})`;
    this.deps.logger.warn(
      { functionId: this.fn.functionId, executionId: this.lease.executionId, err: error },
      'broken exchange with a function',
    );
    this.fail(ErrorCode.badGateway, message, `it broke the HTTP exchange: ${message}`);
  }

  /** Answers with a JSON error (or cuts an answer already under way) and settles. */
  private fail(code: ErrorCode, message: string, condemn?: string): void {
    if (this.settled) return;
    // Once the status is out, the caller can only see the answer cut short.
    if (this.res.headersSent) this.res.destroy();
    else sendError(this.res, code, message, this.runnerHeaders() as Record<string, string>);
    this.settle(httpStatusOf[code], message, condemn);
  }

  private settle(status: number, error: string | null, condemn?: string): void {
    this.settled = true;
    clearTimeout(this.timer);
    if (this.grace !== null) clearTimeout(this.grace);
    this.res.off('close', this.onCallerClose);
    this.res.off('drain', this.onDrain);
    this.deps.pool.release(this.lease, condemn);
    this.admission?.release(1);
    const durationMs = performance.now() - this.startedAt;
    const { metrics, reporter } = this.deps;
    metrics.invocation(status, durationMs / 1000, this.lease.cold);
    reporter.report({
      executionId: this.lease.executionId,
      appId: this.fn.appId,
      releaseId: this.lease.instance.spec.release.id,
      statusCode: status,
      durationMs: Math.round(durationMs * 1000) / 1000,
      cold: this.lease.cold,
      error,
      at: new Date(this.at).toISOString(),
    });
  }

  private runnerHeaders(): OutgoingHttpHeaders {
    return {
      [igniteHeaders.executionId]: this.lease.executionId,
      [igniteHeaders.cold]: this.lease.cold ? 'true' : 'false',
      [igniteHeaders.release]: String(this.lease.instance.spec.release.number),
      [igniteHeaders.durationMs]: (performance.now() - this.startedAt).toFixed(2),
    };
  }

  /** The message of an error answer (`{"error": …}`), for the report. */
  private capturedError(): string | null {
    if (this.captured === null) return null;
    const text = Buffer.concat(this.captured).toString('utf8').slice(0, ERROR_CAPTURE_BYTES);
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') {
        return (parsed as { error: string }).error;
      }
    } catch {
      // Not JSON (or cut at the capture limit): the text itself.
    }
    return text.length > 0 ? text.slice(0, 500) : `HTTP ${this.status}`;
  }
}
