import { createParser } from 'eventsource-parser';

// DOM's typings give TextDecoderStream a BufferSource writable, which pipeThrough of a byte stream refuses.
const utf8Decoder = () => new TextDecoderStream() as unknown as ReadableWritablePair<string, Uint8Array>;

/**
 * Reads a streamed text answer line by line as it arrives (a build's log with follow=true): calls
 * `onLines` with each chunk's whole lines, and once more with a last unterminated line at the end.
 */
export async function readLines(body: ReadableStream<Uint8Array>, onLines: (lines: string[]) => void, signal: AbortSignal): Promise<void> {
  const reader = body.pipeThrough(utf8Decoder()).getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  let partial = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      const parts = (partial + value).split('\n');
      partial = parts.pop() ?? '';
      if (parts.length > 0) onLines(parts);
    }
    if (partial !== '') onLines([partial]);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}

/**
 * Reads a Server-Sent Events answer (the function log's follow route), calling `onEvent` with each
 * event's name, data and id. fetch rather than EventSource: EventSource cannot send the API key.
 */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: { event: string | undefined; data: string; id: string | undefined }) => void,
  signal: AbortSignal,
): Promise<void> {
  const parser = createParser({ onEvent: (message) => onEvent({ event: message.event, data: message.data, id: message.id }) });
  const reader = body.pipeThrough(utf8Decoder()).getReader();
  const cancel = () => void reader.cancel().catch(() => undefined);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
    }
  } finally {
    signal.removeEventListener('abort', cancel);
  }
}
