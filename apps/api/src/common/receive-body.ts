import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';

export interface Received {
  size: number;
  /** The first bytes (enough to tell a gzip from a zip). */
  head: Buffer;
}

export class TooLargeError extends Error {
  constructor(readonly limitBytes: number) {
    super(`more than ${limitBytes} bytes`);
    this.name = 'TooLargeError';
  }
}

export class IncompleteBodyError extends Error {
  constructor() {
    super('the client closed the connection before the body was complete');
    this.name = 'IncompleteBodyError';
  }
}

const HEAD_BYTES = 16;

/**
 * Copies a request body to a file, never holding more than a chunk in memory, and stops at
 * `maxBytes` with a TooLargeError. The source is never destroyed: on refusal it is left to drain
 * so that the answer can still be sent on its connection.
 */
export function receiveToFile(source: Readable, path: string, maxBytes: number): Promise<Received> {
  return new Promise<Received>((resolve, reject) => {
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const headChunks: Buffer[] = [];
    let headBytes = 0;
    let size = 0;
    let settled = false;

    const detach = () => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onFailure);
      source.off('aborted', onAborted);
      source.off('close', onClose);
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      detach();
      // Keep reading (and discarding) what the client still sends; the answer follows.
      source.resume();
      out.destroy();
      out.once('close', () => reject(error));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        fail(new TooLargeError(maxBytes));
        return;
      }
      if (headBytes < HEAD_BYTES) {
        headChunks.push(chunk.subarray(0, HEAD_BYTES - headBytes));
        headBytes += Math.min(chunk.length, HEAD_BYTES - headBytes);
      }
      if (!out.write(chunk)) {
        source.pause();
        out.once('drain', () => {
          if (!settled) source.resume();
        });
      }
    };
    const onEnd = () => {
      detach();
      out.end();
    };
    const onFailure = (error: Error) => fail(error);
    const onAborted = () => fail(new IncompleteBodyError());
    const onClose = () => {
      if (!source.readableEnded) onAborted();
    };

    if (source.destroyed) {
      // Failed (or was cut) before anyone listened.
      settled = true;
      out.destroy();
      out.once('close', () => reject(source.errored ?? new IncompleteBodyError()));
      return;
    }
    out.on('error', onFailure);
    out.on('finish', () => {
      if (settled) return;
      settled = true;
      resolve({ size, head: Buffer.concat(headChunks) });
    });
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onFailure);
    source.on('aborted', onAborted);
    source.on('close', onClose);
  });
}

/** Reads a whole body into memory, at most `maxBytes` (TooLargeError beyond). The source is never destroyed. */
export function readBody(source: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const detach = () => {
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onFailure);
      source.off('aborted', onAborted);
      source.off('close', onClose);
    };
    const settle = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      detach();
      if (error) {
        source.resume();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) settle(new TooLargeError(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = () => settle(undefined);
    const onFailure = (error: Error) => settle(error);
    const onAborted = () => settle(new IncompleteBodyError());
    const onClose = () => {
      if (!source.readableEnded) onAborted();
    };
    if (source.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    if (source.destroyed) {
      reject(source.errored ?? new IncompleteBodyError());
      return;
    }
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onFailure);
    source.on('aborted', onAborted);
    source.on('close', onClose);
  });
}
