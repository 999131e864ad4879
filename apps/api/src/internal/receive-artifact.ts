import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';

export type ReceiveProblem = 'too-large' | 'incomplete';

export class ReceiveError extends Error {
  constructor(
    readonly problem: ReceiveProblem,
    message: string,
  ) {
    super(message);
    this.name = 'ReceiveError';
  }
}

/**
 * Streams a request body into a new file (`wx`: never over an existing one), hashing it on the way,
 * and stops at `maxBytes`. The request is never destroyed: a refused body is drained so the answer
 * still reaches the client on its connection. On failure the partial file is left for the caller
 * to remove.
 */
export function receiveToFile(source: Readable, path: string, maxBytes: number): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const hash = createHash('sha256');
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
      source.resume();
      out.destroy();
      out.once('close', () => reject(error));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        fail(new ReceiveError('too-large', `the artifact is larger than the limit of ${maxBytes} bytes`));
        return;
      }
      hash.update(chunk);
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
    const onAborted = () => fail(new ReceiveError('incomplete', 'the client closed the connection before the body was complete'));
    const onClose = () => {
      if (!source.readableEnded) onAborted();
    };

    out.on('error', onFailure);
    out.on('finish', () => {
      if (settled) return;
      settled = true;
      resolve({ size, sha256: hash.digest('hex') });
    });
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onFailure);
    source.on('aborted', onAborted);
    source.on('close', onClose);
  });
}
