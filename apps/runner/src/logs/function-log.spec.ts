import type { Logger } from '@ignite/service-kit';
import pino from 'pino';
import { FunctionLog } from './function-log';
import { type FunctionLogSink, LogSource, type SinkLine } from './log-sink';

function memoryLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, records };
}

function collectingSink(): { sink: FunctionLogSink; lines: (SinkLine & { n: number })[] } {
  const lines: (SinkLine & { n: number })[] = [];
  return { sink: { write: (source, line) => lines.push({ ...line, n: source.next++ }) }, lines };
}

describe('FunctionLog', () => {
  const source = () => new LogSource('app', 'release', 'instance-1');

  it('ships whole lines across chunks, with the execution when it is known', () => {
    const { logger } = memoryLogger();
    const { sink, lines } = collectingSink();
    let current: string | undefined = 'exec-1';
    const log = new FunctionLog({ logger, sink, source: source(), maxLinesPerSecond: 100, executionId: () => current });
    log.write(Buffer.from('first li'));
    log.write(Buffer.from('ne\r\nsecond\nthi'));
    current = undefined;
    log.write(Buffer.from([0xc3]));
    log.write(Buffer.from([0xa9]));
    log.end();
    expect(lines.map((l) => [l.text, l.executionId, l.stream, l.n])).toEqual([
      ['first line', 'exec-1', 'stderr', 0],
      ['second', 'exec-1', 'stderr', 1],
      ['thié', undefined, 'stderr', 2],
    ]);
    expect(log.lastLines()).toEqual(['first line', 'second', 'thié']);
  });

  it('reads the lines the SDK tagged with their invocation, and takes nothing else for a tag', () => {
    const { logger } = memoryLogger();
    const { sink, lines } = collectingSink();
    const log = new FunctionLog({ logger, sink, source: source(), maxLinesPerSecond: 100, executionId: () => 'sole' });
    log.write(Buffer.from('\u001eexec e-1 stderr hello world\n\u001eexec e-2 stdout \n\u001enot a tag\nexec e-3 stderr plain\n'));
    expect(lines.map((l) => [l.stream, l.executionId, l.text])).toEqual([
      ['stderr', 'e-1', 'hello world'],
      ['stdout', 'e-2', ''],
      ['stderr', 'sole', '\u001enot a tag'],
      ['stderr', 'sole', 'exec e-3 stderr plain'],
    ]);
  });

  it('cuts endless lines and rate-limits floods, saying in the log how many lines it dropped and whose', () => {
    const { logger, records } = memoryLogger();
    const { sink, lines } = collectingSink();
    const seen: string[] = [];
    const log = new FunctionLog({
      logger,
      sink,
      source: source(),
      maxLinesPerSecond: 10,
      executionId: () => undefined,
      observe: (line) => seen.push(line),
    });
    log.write(Buffer.from('x'.repeat(40_000)));
    expect(lines.map((l) => l.text.length)).toEqual([16_384, 16_384]);
    log.write(Buffer.from('\u001eexec flood-1 stderr line\n'.repeat(50)));
    log.end();
    // The rest of the long line ends with the first tagged line (so is not one).
    expect(seen.length).toBe(52);
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toMatchObject({
      stream: 'platform',
      executionId: 'flood-1',
      text: expect.stringMatching(/^42 log lines dropped: more than 10 lines a second from one instance/),
    });
    expect(records.at(-1)).toMatchObject({ msg: 'function log lines dropped', dropped: 42 });
  });

  it('says what it dropped at the end of the second even when no line comes after the flood', async () => {
    const { logger } = memoryLogger();
    const { sink, lines } = collectingSink();
    const log = new FunctionLog({ logger, sink, source: source(), maxLinesPerSecond: 10, executionId: () => 'flood-2' });
    log.write(Buffer.from('line\n'.repeat(25)));
    expect(lines).toHaveLength(10);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(lines.at(-1)).toMatchObject({
      stream: 'platform',
      executionId: 'flood-2',
      text: expect.stringMatching(/^15 log lines dropped/),
    });
  });

  it("keeps a program's words about itself in the runner's log, outside the function's", () => {
    const { logger, records } = memoryLogger();
    const { sink, lines } = collectingSink();
    const log = new FunctionLog({
      logger,
      sink,
      source: source(),
      maxLinesPerSecond: 100,
      executionId: () => undefined,
      attribute: (text) => ({ stream: 'host', text, message: 'wasm host' }),
    });
    log.write(Buffer.from('serving\n'));
    expect(lines).toEqual([]);
    expect(records).toEqual([expect.objectContaining({ msg: 'wasm host', text: 'serving' })]);
  });
});
