import type { Socket } from 'node:net';
import { HTTPParser } from 'http-parser-js';

/** The first request of a connection, as far as routing it needs. */
export interface RequestHead {
  method: string;
  url: string;
  /** Flat `[name, value, …]`, as received. */
  headers: string[];
}

export type HeadOutcome =
  /** The head is complete: `bytes` is everything read from the socket so far (the head, maybe some body). */
  | { kind: 'head'; head: RequestHead; bytes: Buffer }
  /** Not a request the reader understands (malformed, or a head over the limit): let the HTTP server answer it. */
  | { kind: 'other'; bytes: Buffer }
  /** The caller closed, failed or stayed silent: nothing to answer. */
  | { kind: 'gone' };

/**
 * Reads a connection's next request head, and not a byte more than the socket already gave:
 * then the socket's handle stops reading, so that what follows stays in the kernel for whoever
 * gets the connection next (a function's program, or the runner's HTTP server). `initial` is
 * what was read of it earlier (given back by a program). The head is parsed with http-parser-js.
 */
export function readHead(socket: Socket, initial: Buffer, options: { maxBytes: number; timeoutMs: number }): Promise<HeadOutcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let head: RequestHead | null = null;
    let malformed = false;
    const parser = new HTTPParser(HTTPParser.REQUEST);
    parser[HTTPParser.kOnHeadersComplete] = (info) => {
      head = { method: HTTPParser.methods[info.method] ?? 'GET', url: info.url, headers: info.headers };
      // Stop here: the body is not ours to read.
      return 1;
    };
    const feed = (chunk: Buffer): boolean => {
      chunks.push(chunk);
      size += chunk.length;
      if (head === null && !malformed) {
        const result = parser.execute(chunk);
        if (result instanceof Error) malformed = true;
      }
      return head !== null || malformed || size > options.maxBytes;
    };
    const finish = (outcome: HeadOutcome) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onGone);
      socket.off('error', onGone);
      socket.off('close', onGone);
      resolve(outcome);
    };
    const complete = () => {
      for (const chunk of stopReading(socket)) {
        chunks.push(chunk);
        size += chunk.length;
      }
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      finish(head !== null ? { kind: 'head', head, bytes } : { kind: 'other', bytes });
    };
    const onData = (chunk: Buffer) => {
      if (feed(chunk)) complete();
    };
    const onGone = () => {
      if (size > 0 && !socket.destroyed) {
        complete();
        return;
      }
      finish({ kind: 'gone' });
    };
    const timer = setTimeout(() => finish({ kind: 'gone' }), options.timeoutMs);
    timer.unref();
    if (initial.length > 0 && feed(initial)) {
      complete();
      return;
    }
    resumeReading(socket);
    socket.on('data', onData);
    socket.once('end', onGone);
    socket.once('error', onGone);
    socket.once('close', onGone);
    socket.resume();
  });
}

/** Stands in for `Socket#_read` while a socket is parked: Readable calls `_read` by itself (to read ahead), which would start the handle again. */
function parked(): void {}

/**
 * Stops the socket's handle from reading and keeps it stopped (a paused stream would still read
 * ahead into its buffer), so that a connection can be handed on with nothing of it left behind
 * here. Returns what the socket had already buffered.
 */
export function stopReading(socket: Socket): Buffer[] {
  socket.pause();
  (socket as unknown as { _read: () => void })._read = parked;
  const handle = (socket as unknown as { _handle?: { readStop?: () => number; reading?: boolean } })._handle;
  if (handle?.readStop !== undefined) {
    handle.readStop();
    handle.reading = false;
  }
  const buffered: Buffer[] = [];
  for (let chunk: Buffer | null = socket.read(); chunk !== null; chunk = socket.read()) buffered.push(chunk);
  return buffered;
}

/**
 * Undoes `stopReading`: the handle reads again. (Restarted directly, as node:http does on
 * `resume`: the stream still counts the read it asked the parked `_read` for as under way.)
 */
export function resumeReading(socket: Socket): void {
  if (Object.hasOwn(socket, '_read')) delete (socket as unknown as { _read?: unknown })._read;
  const handle = (socket as unknown as { _handle?: { readStart?: () => number; reading?: boolean } })._handle;
  if (handle?.readStart !== undefined && !handle.reading) {
    handle.reading = true;
    handle.readStart();
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** Request headers only the platform sets (`x-ignite-internal-token` among them). */
const PLATFORM_HEADER = /^x-ignite-/i;

/**
 * `bytes` (a request head, maybe followed by some of its body) without the platform's
 * `x-ignite-*` headers: what a program is handed never holds the caller's credentials, or
 * headers it could mistake for the platform's. A folded continuation line goes with its header.
 */
export function withoutPlatformHeaders(bytes: Buffer): Buffer {
  const end = bytes.indexOf(HEAD_END);
  if (end === -1) return bytes;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const kept: string[] = [lines[0] ?? ''];
  let dropping = false;
  for (const line of lines.slice(1)) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!dropping) kept.push(line);
      continue;
    }
    dropping = PLATFORM_HEADER.test(line.slice(0, line.indexOf(':') + 1 || line.length).trim());
    if (!dropping) kept.push(line);
  }
  if (kept.length === lines.length) return bytes;
  return Buffer.concat([Buffer.from(kept.join('\r\n'), 'latin1'), bytes.subarray(end)]);
}
