import { createReadStream } from 'node:fs';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { abortable } from './abortable-iterable';
import type { ArchiveBudget } from './archive-budget';
import type { ArchiveEntry, ArchiveEntryKind } from './archive-entry';
import { ArchiveRejectedError } from './archive-rejected-error';

/** Pax and GNU long-name blocks hold a path or a few attributes: anything larger is not a source archive. */
const MAX_TAR_METADATA_BYTES = 64 * 1024;

/**
 * Reads a tar.gz and hands each entry to `visit`, one at a time, in archive order.
 *
 * The gzip is decompressed here (not by node-tar) so that the decompressed stream can be counted
 * and cut off while it streams; node-tar only parses. It never writes anything: `visit` decides.
 * Resolves once every entry has been visited; rejects with the first failure, only after the
 * entry being visited has settled, so that a caller cleaning up never races a write.
 */
export async function readTarGzEntries(
  archivePath: string,
  budget: ArchiveBudget,
  visit: (entry: ArchiveEntry) => Promise<void>,
): Promise<void> {
  // strict: every parser warning (bad checksum, truncation, not a tar) is an error. brotli/zstd
  // off: the stream reaching the parser is already decompressed.
  const parser = new Parser({ strict: true, brotli: false, zstd: false, maxMetaEntrySize: MAX_TAR_METADATA_BYTES });
  let failure: unknown;
  let visiting: Promise<void> = Promise.resolve();
  const torndown = new AbortController();

  const sink = parserSink(parser);
  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    // Wakes up a visit waiting for content that will never come.
    torndown.abort(error);
    sink.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  parser.on('entry', (readEntry: ReadEntry) => {
    visiting = visiting
      .then(async () => {
        if (failure !== undefined) return;
        await visit(tarEntry(readEntry, torndown.signal));
        // Lets the parser move on: drains what the visit did not read (directories, refused entries).
        readEntry.resume();
      })
      .catch(fail);
  });
  parser.on('ignoredEntry', (readEntry: ReadEntry) => {
    fail(
      readEntry.meta
        ? unreadable(`a metadata block for "${readEntry.path}" is larger than ${MAX_TAR_METADATA_BYTES} bytes`)
        : new ArchiveRejectedError(
            'special_file',
            readEntry.path,
            `entries of tar type "${readEntry.type}" are not supported; only regular files and folders are, so remove it and archive again`,
          ),
    );
  });
  parser.on('error', (error: Error) => fail(unreadable(error.message)));

  const meter = budget.meterDecompressedStream();
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        meter(chunk.length);
        done(null, chunk);
      } catch (error) {
        done(error as Error);
      }
    },
  });

  try {
    await pipeline(createReadStream(archivePath), createGunzip(), counter, sink);
  } catch (error) {
    fail(error instanceof ArchiveRejectedError ? error : unreadable((error as Error).message));
  }
  await visiting;
  if (failure !== undefined) throw failure;
}

/**
 * node-tar's Parser is an event emitter with stream-like write/end, not a Writable: this adapter
 * lets it sit at the end of a pipeline with backpressure. It also refuses a tar that is itself
 * compressed again (the parser would silently gunzip it, outside our byte counting) and stops
 * feeding the parser after the end-of-archive marker, as tar does.
 */
function parserSink(parser: Parser): Writable {
  let head: Buffer | undefined = Buffer.alloc(0);
  let ended = false;
  const parserDone = new Promise<void>((resolve) => parser.on('end', resolve));
  parser.on('eof', () => {
    ended = true;
  });
  const feed = (chunk: Buffer, done: (error?: Error) => void) => {
    if (ended || parser.write(chunk)) done();
    else parser.once('drain', () => done());
  };
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (head === undefined) return feed(chunk, done);
      head = Buffer.concat([head, chunk]);
      if (head.length < 2) return done();
      const first = head;
      head = undefined;
      if (first[0] === 0x1f && first[1] === 0x8b) return done(unreadable('the tar inside is compressed a second time'));
      feed(first, done);
    },
    final(done) {
      if (head !== undefined && head.length > 0) parser.write(head);
      parser.end();
      parserDone.then(
        () => done(),
        (error: Error) => done(error),
      );
    },
  });
}

function tarEntry(readEntry: ReadEntry, torndown: AbortSignal): ArchiveEntry {
  const kind = tarEntryKind(readEntry.type);
  return {
    name: readEntry.path,
    kind,
    ...(kind === 'special' ? { specialType: TAR_SPECIAL_TYPES[readEntry.type] ?? readEntry.type } : {}),
    declaredBytes: kind === 'file' ? readEntry.size : 0,
    executable: ((readEntry.mode ?? 0) & 0o111) !== 0,
    openContent: async () => abortable(readEntry, torndown),
  };
}

function tarEntryKind(type: ReadEntry['type']): ArchiveEntryKind {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
      return 'directory';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    default:
      return 'special';
  }
}

const TAR_SPECIAL_TYPES: Partial<Record<ReadEntry['type'], string>> = {
  CharacterDevice: 'character device',
  BlockDevice: 'block device',
  FIFO: 'FIFO',
  GNUDumpDir: 'GNU dump directory',
};

function unreadable(detail: string): ArchiveRejectedError {
  return new ArchiveRejectedError(
    'unreadable',
    undefined,
    `not a valid tar.gz (${detail}); create it again with \`tar -czf source.tar.gz -C <project folder> .\` and upload that file`,
  );
}
