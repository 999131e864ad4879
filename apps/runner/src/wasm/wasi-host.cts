/**
 * A WASI 0.2 host for one function component, in the worker thread that runs it: what the
 * `wasi:http/proxy` world imports, plus the `wasi:cli` and `wasi:filesystem` interfaces a Rust
 * `wasm32-wasip2` component also imports. Everything is synchronous and in memory: the request
 * body is already here, the response goes out as events (`HostOptions.emit`), waits (a sleep, a
 * paused response stream) block the worker's thread with `Atomics.wait`.
 *
 * The component sees:
 * - its environment (`wasi:cli/environment`), no arguments, an empty stdin, stdout and stderr
 *   going to the function's log;
 * - one directory, the instance's scratch directory, preopened at `/tmp` (for `temp_store()`);
 *   paths cannot leave it, and links cannot be made;
 * - clocks, random numbers;
 * - `wasi:http/types` for the incoming request and its response; outgoing HTTP requests are
 *   refused (`HTTP-request-denied`).
 *
 * CommonJS TypeScript with erasable syntax only, requiring Node built-ins only: Node runs it as
 * is in a worker under the tests, `tsc` compiles it to `wasi-host.cjs` for the built runner.
 * Host functions follow jco's conventions: a `result` is returned as `{ tag: 'ok' | 'err', val }`
 * (or a plain ok value), an `option` as the value or `undefined`, flags as objects of booleans.
 */
import type { HostExchange, HostModule, HostOptions, HostRequest, WasiHost } from './protocol';

const fs = require('node:fs') as typeof import('node:fs');
const nodePath = require('node:path') as typeof import('node:path');
const { randomFillSync } = require('node:crypto') as typeof import('node:crypto');

const CONTROL_PAUSED = 0;
const CONTROL_WAKE = 1;
/** How much an output stream takes at once (`check-write`). */
const WRITE_PERMIT = 1024 * 1024;
/** Longest single wait; waits are re-checked at least this often. */
const MAX_WAIT_MS = 1000;

type Result<T, E> = { tag: 'ok'; val: T } | { tag: 'err'; val: E };
const ok = <T,>(val: T): Result<T, never> => ({ tag: 'ok', val });
const err = <E,>(val: E): Result<never, E> => ({ tag: 'err', val });

const dispose: typeof Symbol.dispose = Symbol.dispose;

/** `wasi:cli/exit` was called: unwinds the guest like a trap. */
class GuestExit extends Error {
  readonly exitCode: number;

  constructor(exitCode: number) {
    super(`the function called exit(${exitCode})`);
    this.exitCode = exitCode;
  }
}

const SUPPORTED_INTERFACES = [
  'wasi:io/error',
  'wasi:io/poll',
  'wasi:io/streams',
  'wasi:clocks/monotonic-clock',
  'wasi:clocks/wall-clock',
  'wasi:random/random',
  'wasi:random/insecure',
  'wasi:random/insecure-seed',
  'wasi:cli/environment',
  'wasi:cli/exit',
  'wasi:cli/stdin',
  'wasi:cli/stdout',
  'wasi:cli/stderr',
  'wasi:cli/terminal-input',
  'wasi:cli/terminal-output',
  'wasi:cli/terminal-stdin',
  'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr',
  'wasi:filesystem/types',
  'wasi:filesystem/preopens',
  'wasi:http/types',
  'wasi:http/outgoing-handler',
] as const;

function createHost(options: HostOptions): WasiHost {
  const control = options.control;

  // ---------------------------------------------------------------- waiting

  /** Blocks until `until()` holds or the monotonic clock reaches `deadline` (ns), whichever first. */
  function wait(deadline: bigint | null, until: () => boolean): void {
    options.flush();
    for (;;) {
      if (until()) return;
      let timeoutMs = MAX_WAIT_MS;
      if (deadline !== null) {
        const left = deadline - process.hrtime.bigint();
        if (left <= 0n) return;
        timeoutMs = Math.min(timeoutMs, Math.ceil(Number(left) / 1e6));
      }
      Atomics.wait(control, CONTROL_WAKE, Atomics.load(control, CONTROL_WAKE), timeoutMs);
    }
  }

  const isPaused = () => Atomics.load(control, CONTROL_PAUSED) === 1;

  // ---------------------------------------------------------------- wasi:io

  class IoError {
    readonly message: string;

    constructor(message: string) {
      this.message = message;
    }

    toDebugString(): string {
      return this.message;
    }
  }

  /** Ready at a monotonic instant (ns), or when a condition holds. */
  class Pollable {
    readonly deadline: bigint | null;
    readonly condition: (() => boolean) | null;

    constructor(deadline: bigint | null, condition: (() => boolean) | null) {
      this.deadline = deadline;
      this.condition = condition;
    }

    ready(): boolean {
      if (this.condition !== null) return this.condition();
      return this.deadline === null || process.hrtime.bigint() >= this.deadline;
    }

    block(): void {
      poll([this]);
    }
  }

  const readyPollable = () => new Pollable(null, null);

  function poll(list: Pollable[]): Uint32Array {
    if (list.length === 0) throw new Error('wasi:io/poll: poll called with an empty list');
    for (;;) {
      const ready: number[] = [];
      for (let i = 0; i < list.length; i++) if (list[i]!.ready()) ready.push(i);
      if (ready.length > 0) return Uint32Array.from(ready);
      let deadline: bigint | null = null;
      for (const pollable of list) {
        if (pollable.condition === null && pollable.deadline !== null && (deadline === null || pollable.deadline < deadline)) {
          deadline = pollable.deadline;
        }
      }
      wait(deadline, () => list.some((pollable) => pollable.ready()));
    }
  }

  interface ByteSource {
    /** At most `max` bytes; `null` at the end. */
    read(max: number): Uint8Array | null;
  }

  interface ByteSink {
    /** Bytes it takes now (0: wait for its pollable). */
    permit(): number;
    write(bytes: Uint8Array): void;
    flush(): void;
    /** Why it takes nothing more, if so. */
    closed(): boolean;
  }

  type StreamError = { tag: 'closed' } | { tag: 'last-operation-failed'; val: IoError };
  const CLOSED: StreamError = { tag: 'closed' };
  const failed = (message: string): StreamError => ({ tag: 'last-operation-failed', val: new IoError(message) });

  function streamFailure(error: unknown): StreamError {
    const code = (error as NodeJS.ErrnoException)?.code;
    return failed(code ? `${code}: ${(error as Error).message}` : String(error));
  }

  class InputStream {
    readonly source: ByteSource;

    constructor(source: ByteSource) {
      this.source = source;
    }

    read(len: bigint): Result<Uint8Array, StreamError> {
      try {
        const bytes = this.source.read(Number(len > 0x7fffffffn ? 0x7fffffffn : len));
        return bytes === null ? err(CLOSED) : ok(bytes);
      } catch (error) {
        return err(streamFailure(error));
      }
    }

    blockingRead(len: bigint): Result<Uint8Array, StreamError> {
      // Every source here has its bytes at hand: reading never waits.
      return this.read(len);
    }

    skip(len: bigint): Result<bigint, StreamError> {
      const read = this.read(len);
      return read.tag === 'ok' ? ok(BigInt(read.val.byteLength)) : read;
    }

    blockingSkip(len: bigint): Result<bigint, StreamError> {
      return this.skip(len);
    }

    subscribe(): Pollable {
      return readyPollable();
    }
  }

  class OutputStream {
    readonly sink: ByteSink;

    constructor(sink: ByteSink) {
      this.sink = sink;
    }

    checkWrite(): Result<bigint, StreamError> {
      if (this.sink.closed()) return err(CLOSED);
      return ok(BigInt(this.sink.permit()));
    }

    write(contents: Uint8Array): Result<undefined, StreamError> {
      if (this.sink.closed()) return err(CLOSED);
      try {
        this.sink.write(contents);
        return ok(undefined);
      } catch (error) {
        return err(streamFailure(error));
      }
    }

    blockingWriteAndFlush(contents: Uint8Array): Result<undefined, StreamError> {
      if (contents.byteLength > 4096) throw new Error('wasi:io/streams: blocking-write-and-flush of more than 4096 bytes');
      this.waitWritable();
      const written = this.write(contents);
      return written.tag === 'ok' ? this.blockingFlush() : written;
    }

    flush(): Result<undefined, StreamError> {
      if (this.sink.closed()) return err(CLOSED);
      try {
        this.sink.flush();
        return ok(undefined);
      } catch (error) {
        return err(streamFailure(error));
      }
    }

    blockingFlush(): Result<undefined, StreamError> {
      return this.flush();
    }

    subscribe(): Pollable {
      return new Pollable(null, () => this.sink.closed() || this.sink.permit() > 0);
    }

    writeZeroes(len: bigint): Result<undefined, StreamError> {
      return this.write(new Uint8Array(Number(len)));
    }

    blockingWriteZeroesAndFlush(len: bigint): Result<undefined, StreamError> {
      this.waitWritable();
      const written = this.writeZeroes(len);
      return written.tag === 'ok' ? this.blockingFlush() : written;
    }

    splice(source: InputStream, len: bigint): Result<bigint, StreamError> {
      const permit = BigInt(this.sink.permit());
      const read = source.read(len < permit ? len : permit);
      if (read.tag === 'err') return read;
      const written = this.write(read.val);
      return written.tag === 'ok' ? ok(BigInt(read.val.byteLength)) : written;
    }

    blockingSplice(source: InputStream, len: bigint): Result<bigint, StreamError> {
      this.waitWritable();
      const spliced = this.splice(source, len);
      if (spliced.tag === 'err') return spliced;
      const flushed = this.blockingFlush();
      return flushed.tag === 'ok' ? spliced : flushed;
    }

    private waitWritable(): void {
      if (this.sink.closed() || this.sink.permit() > 0) return;
      wait(null, () => this.sink.closed() || this.sink.permit() > 0);
    }
  }

  /** Bytes already in memory. */
  class BufferSource implements ByteSource {
    private offset = 0;
    private readonly bytes: Uint8Array;

    constructor(bytes: Uint8Array) {
      this.bytes = bytes;
    }

    read(max: number): Uint8Array | null {
      if (this.offset >= this.bytes.byteLength) return null;
      const end = Math.min(this.bytes.byteLength, this.offset + max);
      const chunk = this.bytes.slice(this.offset, end);
      this.offset = end;
      return chunk;
    }
  }

  /** stdout / stderr: the function's log. */
  class LogSink implements ByteSink {
    private readonly stream: 'stdout' | 'stderr';

    constructor(stream: 'stdout' | 'stderr') {
      this.stream = stream;
    }

    permit(): number {
      return WRITE_PERMIT;
    }

    write(bytes: Uint8Array): void {
      if (bytes.byteLength > 0) options.emit({ type: 'log', stream: this.stream, data: bytes });
    }

    flush(): void {}

    closed(): boolean {
      return false;
    }
  }

  // ---------------------------------------------------------------- wasi:clocks, wasi:random

  const monotonicClock = {
    now: () => process.hrtime.bigint(),
    resolution: () => 1n,
    subscribeInstant: (when: bigint) => new Pollable(when, null),
    subscribeDuration: (duration: bigint) => new Pollable(process.hrtime.bigint() + duration, null),
  };

  function datetime(ms: number): { seconds: bigint; nanoseconds: number } {
    const seconds = Math.floor(ms / 1000);
    return { seconds: BigInt(seconds), nanoseconds: Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6)) };
  }

  const wallClock = {
    now: () => datetime(performance.timeOrigin + performance.now()),
    resolution: () => ({ seconds: 0n, nanoseconds: 1000 }),
  };

  function randomBytes(len: bigint): Uint8Array {
    return randomFillSync(new Uint8Array(Number(len)));
  }

  function randomU64(): bigint {
    return Buffer.from(randomFillSync(new Uint8Array(8))).readBigUInt64LE(0);
  }

  // ---------------------------------------------------------------- wasi:cli

  class TerminalInput {}
  class TerminalOutput {}

  const environment = {
    getEnvironment: () => options.env.map(([name, value]) => [name, value]),
    getArguments: () => [] as string[],
    initialCwd: () => undefined,
  };

  const exit = {
    exit(status: Result<undefined, undefined>) {
      throw new GuestExit(status.tag === 'ok' ? 0 : 1);
    },
  };

  const stdoutSink = new LogSink('stdout');
  const stderrSink = new LogSink('stderr');

  // ---------------------------------------------------------------- wasi:filesystem

  type ErrorCode = string;

  const ERRNO_CODES: Record<string, ErrorCode> = {
    EACCES: 'access',
    EAGAIN: 'would-block',
    EALREADY: 'already',
    EBADF: 'bad-descriptor',
    EBUSY: 'busy',
    EDQUOT: 'quota',
    EEXIST: 'exist',
    EFBIG: 'file-too-large',
    EILSEQ: 'illegal-byte-sequence',
    EINTR: 'interrupted',
    EINVAL: 'invalid',
    EIO: 'io',
    EISDIR: 'is-directory',
    ELOOP: 'loop',
    EMLINK: 'too-many-links',
    ENAMETOOLONG: 'name-too-long',
    ENODEV: 'no-device',
    ENOENT: 'no-entry',
    ENOMEM: 'insufficient-memory',
    ENOSPC: 'insufficient-space',
    ENOTDIR: 'not-directory',
    ENOTEMPTY: 'not-empty',
    ENOTSUP: 'unsupported',
    ENXIO: 'no-such-device',
    EOVERFLOW: 'overflow',
    EPERM: 'not-permitted',
    EPIPE: 'pipe',
    EROFS: 'read-only',
    ESPIPE: 'invalid-seek',
    ETXTBSY: 'text-file-busy',
    EXDEV: 'cross-device',
  };

  function errorCode(error: unknown): ErrorCode {
    return ERRNO_CODES[(error as NodeJS.ErrnoException)?.code ?? ''] ?? 'io';
  }

  /** A WASI `error-code` decided by the host itself (not a Node error). */
  class Refused {
    readonly code: ErrorCode;

    constructor(code: ErrorCode) {
      this.code = code;
    }
  }

  /** Runs a file system call, turning a refusal or a Node error into a WASI `error-code`. */
  function fsCall<T>(call: () => T): Result<T, ErrorCode> {
    try {
      return ok(call());
    } catch (error) {
      if (error instanceof Refused) return err(error.code);
      return err(errorCode(error));
    }
  }

  interface DescriptorFlags {
    read?: boolean;
    write?: boolean;
    fileIntegritySync?: boolean;
    dataIntegritySync?: boolean;
    requestedWriteSync?: boolean;
    mutateDirectory?: boolean;
  }

  interface FileKind {
    isDirectory(): boolean;
    isFile(): boolean;
    isSymbolicLink(): boolean;
    isFIFO(): boolean;
    isSocket(): boolean;
    isCharacterDevice(): boolean;
    isBlockDevice(): boolean;
  }

  function descriptorType(stats: FileKind): string {
    if (stats.isDirectory()) return 'directory';
    if (stats.isFile()) return 'regular-file';
    if (stats.isSymbolicLink()) return 'symbolic-link';
    if (stats.isFIFO()) return 'fifo';
    if (stats.isSocket()) return 'socket';
    if (stats.isCharacterDevice()) return 'character-device';
    if (stats.isBlockDevice()) return 'block-device';
    return 'unknown';
  }

  function descriptorStat(stats: import('node:fs').BigIntStats) {
    const time = (ns: bigint) => ({ seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) });
    return {
      type: descriptorType(stats),
      linkCount: stats.nlink,
      size: stats.size,
      dataAccessTimestamp: time(stats.atimeNs),
      dataModificationTimestamp: time(stats.mtimeNs),
      statusChangeTimestamp: time(stats.ctimeNs),
    };
  }

  /** A file read from a position on. */
  class FileSource implements ByteSource {
    private readonly fd: number;
    private position: number;

    constructor(fd: number, position: number) {
      this.fd = fd;
      this.position = position;
    }

    read(max: number): Uint8Array | null {
      const buffer = new Uint8Array(Math.min(max, WRITE_PERMIT));
      const count = fs.readSync(this.fd, buffer, 0, buffer.byteLength, this.position);
      if (count === 0 && max > 0) return null;
      this.position += count;
      return buffer.subarray(0, count);
    }
  }

  /** A file written from a position on, or appended to. */
  class FileSink implements ByteSink {
    private readonly fd: number;
    private position: number | null;

    constructor(fd: number, position: number | null) {
      this.fd = fd;
      this.position = position;
    }

    permit(): number {
      return WRITE_PERMIT;
    }

    write(bytes: Uint8Array): void {
      let offset = 0;
      while (offset < bytes.byteLength) {
        const written = fs.writeSync(this.fd, bytes, offset, bytes.byteLength - offset, this.position);
        offset += written;
        if (this.position !== null) this.position += written;
      }
    }

    flush(): void {}

    closed(): boolean {
      return false;
    }
  }

  class DirectoryEntryStream {
    private readonly entries: import('node:fs').Dirent[];
    private next = 0;

    constructor(entries: import('node:fs').Dirent[]) {
      this.entries = entries;
    }

    readDirectoryEntry(): Result<{ type: string; name: string } | undefined, ErrorCode> {
      const entry = this.entries[this.next++];
      return ok(entry === undefined ? undefined : { type: descriptorType(entry), name: entry.name });
    }
  }

  /** An open file or directory inside the preopened directory (`root`). */
  class Descriptor {
    readonly hostPath: string;
    readonly root: string;
    readonly directory: boolean;
    readonly flags: DescriptorFlags;
    fd: number | null;

    constructor(hostPath: string, root: string, directory: boolean, flags: DescriptorFlags, fd: number | null) {
      this.hostPath = hostPath;
      this.root = root;
      this.directory = directory;
      this.flags = flags;
      this.fd = fd;
    }

    /** The host path of `path` relative to this directory; it may not leave the preopened root. */
    private resolve(path: string): string {
      if (!this.directory) throw new Refused('not-directory');
      if (path.startsWith('/') || path.includes('\0')) throw new Refused('not-permitted');
      const target = nodePath.resolve(this.hostPath, path);
      if (target !== this.root && !target.startsWith(this.root + nodePath.sep)) throw new Refused('not-permitted');
      return target;
    }

    private file(): number {
      if (this.fd === null) throw new Refused('is-directory');
      return this.fd;
    }

    readViaStream(offset: bigint): Result<InputStream, ErrorCode> {
      return fsCall(() => new InputStream(new FileSource(this.file(), Number(offset))));
    }

    writeViaStream(offset: bigint): Result<OutputStream, ErrorCode> {
      return fsCall(() => new OutputStream(new FileSink(this.file(), Number(offset))));
    }

    appendViaStream(): Result<OutputStream, ErrorCode> {
      return fsCall(() => new OutputStream(new FileSink(this.file(), null)));
    }

    advise(): Result<undefined, ErrorCode> {
      return ok(undefined);
    }

    syncData(): Result<undefined, ErrorCode> {
      return fsCall(() => {
        if (this.fd !== null) fs.fdatasyncSync(this.fd);
        return undefined;
      });
    }

    sync(): Result<undefined, ErrorCode> {
      return fsCall(() => {
        if (this.fd !== null) fs.fsyncSync(this.fd);
        return undefined;
      });
    }

    getFlags(): Result<DescriptorFlags, ErrorCode> {
      return ok(this.flags);
    }

    getType(): Result<string, ErrorCode> {
      return fsCall(() => (this.directory ? 'directory' : descriptorType(fs.fstatSync(this.file()))));
    }

    setSize(size: bigint): Result<undefined, ErrorCode> {
      return fsCall(() => {
        fs.ftruncateSync(this.file(), Number(size));
        return undefined;
      });
    }

    setTimes(): Result<undefined, ErrorCode> {
      return ok(undefined);
    }

    read(length: bigint, offset: bigint): Result<[Uint8Array, boolean], ErrorCode> {
      return fsCall(() => {
        const buffer = new Uint8Array(Math.min(Number(length), WRITE_PERMIT));
        const count = fs.readSync(this.file(), buffer, 0, buffer.byteLength, Number(offset));
        return [buffer.subarray(0, count), count === 0 && buffer.byteLength > 0] as [Uint8Array, boolean];
      });
    }

    write(buffer: Uint8Array, offset: bigint): Result<bigint, ErrorCode> {
      return fsCall(() => BigInt(fs.writeSync(this.file(), buffer, 0, buffer.byteLength, Number(offset))));
    }

    readDirectory(): Result<DirectoryEntryStream, ErrorCode> {
      return fsCall(() => {
        if (!this.directory) throw new Refused('not-directory');
        return new DirectoryEntryStream(fs.readdirSync(this.hostPath, { withFileTypes: true }));
      });
    }

    createDirectoryAt(path: string): Result<undefined, ErrorCode> {
      return fsCall(() => {
        fs.mkdirSync(this.resolve(path), { mode: 0o700 });
        return undefined;
      });
    }

    stat(): Result<ReturnType<typeof descriptorStat>, ErrorCode> {
      return fsCall(() => descriptorStat(this.fd === null ? fs.statSync(this.hostPath, { bigint: true }) : fs.fstatSync(this.fd, { bigint: true })));
    }

    statAt(pathFlags: { symlinkFollow?: boolean }, path: string): Result<ReturnType<typeof descriptorStat>, ErrorCode> {
      return fsCall(() => {
        const target = this.resolve(path);
        return descriptorStat(pathFlags.symlinkFollow ? fs.statSync(target, { bigint: true }) : fs.lstatSync(target, { bigint: true }));
      });
    }

    setTimesAt(): Result<undefined, ErrorCode> {
      return ok(undefined);
    }

    linkAt(): Result<undefined, ErrorCode> {
      return err('not-permitted');
    }

    symlinkAt(): Result<undefined, ErrorCode> {
      return err('not-permitted');
    }

    readlinkAt(): Result<string, ErrorCode> {
      return err('invalid');
    }

    openAt(
      pathFlags: { symlinkFollow?: boolean },
      path: string,
      openFlags: { create?: boolean; directory?: boolean; exclusive?: boolean; truncate?: boolean },
      flags: DescriptorFlags,
    ): Result<Descriptor, ErrorCode> {
      return fsCall(() => {
        const target = this.resolve(path);
        const { constants } = fs;
        if (openFlags.directory) {
          if (openFlags.create) throw new Refused('invalid');
          const stats = fs.statSync(target);
          if (!stats.isDirectory()) throw new Refused('not-directory');
          return new Descriptor(target, this.root, true, flags, null);
        }
        if (!openFlags.create) {
          const stats = pathFlags.symlinkFollow ? fs.statSync(target) : fs.lstatSync(target);
          if (stats.isDirectory()) {
            if (flags.write) throw new Refused('is-directory');
            return new Descriptor(target, this.root, true, flags, null);
          }
        }
        let mode = flags.write ? (flags.read ? constants.O_RDWR : constants.O_WRONLY) : constants.O_RDONLY;
        if (openFlags.create) mode |= constants.O_CREAT;
        if (openFlags.exclusive) mode |= constants.O_EXCL;
        if (openFlags.truncate) mode |= constants.O_TRUNC;
        if (!pathFlags.symlinkFollow) mode |= constants.O_NOFOLLOW;
        const fd = fs.openSync(target, mode, 0o600);
        return new Descriptor(target, this.root, false, flags, fd);
      });
    }

    removeDirectoryAt(path: string): Result<undefined, ErrorCode> {
      return fsCall(() => {
        const target = this.resolve(path);
        if (target === this.root) throw new Refused('not-permitted');
        fs.rmdirSync(target);
        return undefined;
      });
    }

    renameAt(oldPath: string, newDescriptor: Descriptor, newPath: string): Result<undefined, ErrorCode> {
      return fsCall(() => {
        fs.renameSync(this.resolve(oldPath), newDescriptor.resolve(newPath));
        return undefined;
      });
    }

    unlinkFileAt(path: string): Result<undefined, ErrorCode> {
      return fsCall(() => {
        const target = this.resolve(path);
        if (fs.lstatSync(target).isDirectory()) throw new Refused('is-directory');
        fs.unlinkSync(target);
        return undefined;
      });
    }

    isSameObject(other: Descriptor): boolean {
      try {
        const a = this.fd === null ? fs.statSync(this.hostPath) : fs.fstatSync(this.fd);
        const b = other.fd === null ? fs.statSync(other.hostPath) : fs.fstatSync(other.fd);
        return a.dev === b.dev && a.ino === b.ino;
      } catch {
        return false;
      }
    }

    metadataHash(): Result<{ lower: bigint; upper: bigint }, ErrorCode> {
      return fsCall(() => {
        const stats = this.fd === null ? fs.statSync(this.hostPath, { bigint: true }) : fs.fstatSync(this.fd, { bigint: true });
        return { lower: stats.ino, upper: stats.dev };
      });
    }

    metadataHashAt(pathFlags: { symlinkFollow?: boolean }, path: string): Result<{ lower: bigint; upper: bigint }, ErrorCode> {
      return fsCall(() => {
        const target = this.resolve(path);
        const stats = pathFlags.symlinkFollow ? fs.statSync(target, { bigint: true }) : fs.lstatSync(target, { bigint: true });
        return { lower: stats.ino, upper: stats.dev };
      });
    }

    [dispose](): void {
      if (this.fd !== null) {
        try {
          fs.closeSync(this.fd);
        } catch {
          // already closed
        }
        this.fd = null;
      }
    }
  }

  const preopen = options.preopen === null ? null : { hostPath: nodePath.resolve(options.preopen.hostPath), guestPath: options.preopen.guestPath };

  const preopens = {
    getDirectories(): [Descriptor, string][] {
      if (preopen === null) return [];
      const flags = { read: true, write: true, mutateDirectory: true };
      return [[new Descriptor(preopen.hostPath, preopen.hostPath, true, flags, null), preopen.guestPath]];
    },
  };

  // ---------------------------------------------------------------- wasi:http/types

  /** Connection-level headers a response may not carry (as wasmtime refuses them). */
  const FORBIDDEN_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);
  const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

  type HeaderError = { tag: 'invalid-syntax' } | { tag: 'forbidden' } | { tag: 'immutable' };

  function checkField(name: string, value: Uint8Array): HeaderError | null {
    if (!TOKEN.test(name)) return { tag: 'invalid-syntax' };
    for (const byte of value) if (byte === 0x0a || byte === 0x0d || byte === 0x00) return { tag: 'invalid-syntax' };
    if (FORBIDDEN_HEADERS.has(name.toLowerCase())) return { tag: 'forbidden' };
    return null;
  }

  class Fields {
    entriesList: [string, Uint8Array][] = [];
    immutable = false;

    static fromList(entries: [string, Uint8Array][]): Result<Fields, HeaderError> {
      const fields = new Fields();
      for (const [name, value] of entries) {
        const problem = checkField(name, value);
        if (problem !== null) return err(problem);
        fields.entriesList.push([name, value]);
      }
      return ok(fields);
    }

    /** An immutable view (a child resource of a request or response). */
    static frozen(entries: [string, Uint8Array][]): Fields {
      const fields = new Fields();
      fields.entriesList = entries;
      fields.immutable = true;
      return fields;
    }

    get(name: string): Uint8Array[] {
      const lower = name.toLowerCase();
      return this.entriesList.filter(([key]) => key.toLowerCase() === lower).map(([, value]) => value);
    }

    has(name: string): boolean {
      const lower = name.toLowerCase();
      return this.entriesList.some(([key]) => key.toLowerCase() === lower);
    }

    set(name: string, values: Uint8Array[]): Result<undefined, HeaderError> {
      if (this.immutable) return err({ tag: 'immutable' });
      for (const value of values) {
        const problem = checkField(name, value);
        if (problem !== null) return err(problem);
      }
      const lower = name.toLowerCase();
      this.entriesList = this.entriesList.filter(([key]) => key.toLowerCase() !== lower);
      for (const value of values) this.entriesList.push([name, value]);
      return ok(undefined);
    }

    delete(name: string): Result<undefined, HeaderError> {
      if (this.immutable) return err({ tag: 'immutable' });
      const lower = name.toLowerCase();
      this.entriesList = this.entriesList.filter(([key]) => key.toLowerCase() !== lower);
      return ok(undefined);
    }

    append(name: string, value: Uint8Array): Result<undefined, HeaderError> {
      if (this.immutable) return err({ tag: 'immutable' });
      const problem = checkField(name, value);
      if (problem !== null) return err(problem);
      this.entriesList.push([name, value]);
      return ok(undefined);
    }

    entries(): [string, Uint8Array][] {
      return this.entriesList.map(([name, value]) => [name, value]);
    }

    clone(): Fields {
      const fields = new Fields();
      fields.entriesList = this.entries();
      return fields;
    }
  }

  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const METHODS = new Set(['get', 'head', 'post', 'put', 'delete', 'connect', 'options', 'trace', 'patch']);

  class IncomingRequest {
    readonly request: HostRequest;
    private body: IncomingBody | null;
    private readonly fields: [string, Uint8Array][];

    constructor(request: HostRequest) {
      this.request = request;
      this.fields = request.headers.map(([name, value]) => [name, encoder.encode(value)]);
      this.body = new IncomingBody(request.body ?? new Uint8Array(0));
    }

    method(): { tag: string; val?: string } {
      const lower = this.request.method.toLowerCase();
      return METHODS.has(lower) ? { tag: lower } : { tag: 'other', val: this.request.method };
    }

    pathWithQuery(): string {
      return this.request.pathWithQuery;
    }

    scheme(): { tag: string } {
      return { tag: 'HTTP' };
    }

    authority(): string | undefined {
      return undefined;
    }

    headers(): Fields {
      return Fields.frozen(this.fields);
    }

    consume(): Result<IncomingBody, undefined> {
      const body = this.body;
      if (body === null) return err(undefined);
      this.body = null;
      return ok(body);
    }
  }

  class FutureTrailers {
    private taken = false;

    subscribe(): Pollable {
      return readyPollable();
    }

    get(): Result<Result<undefined, unknown>, undefined> {
      if (this.taken) return err(undefined);
      this.taken = true;
      return ok(ok(undefined));
    }
  }

  class IncomingBody {
    private bodyStream: InputStream | null;

    constructor(bytes: Uint8Array) {
      this.bodyStream = new InputStream(new BufferSource(bytes));
    }

    stream(): Result<InputStream, undefined> {
      const stream = this.bodyStream;
      if (stream === null) return err(undefined);
      this.bodyStream = null;
      return ok(stream);
    }

    static finish(_body: IncomingBody): FutureTrailers {
      return new FutureTrailers();
    }
  }

  /** The response body's bytes: events once the response is set. */
  class BodySink implements ByteSink {
    /** Chunks written before the response was set (sent right after its head). */
    private early: Uint8Array[] | null = [];
    private finished = false;
    written = 0;
    /** Without a `content-length` the response is a stream: every flush reaches the caller. */
    streaming = true;

    permit(): number {
      return this.early === null && isPaused() ? 0 : WRITE_PERMIT;
    }

    write(bytes: Uint8Array): void {
      if (bytes.byteLength === 0) return;
      this.written += bytes.byteLength;
      if (this.early !== null) this.early.push(bytes);
      else options.emit({ type: 'chunk', data: bytes });
    }

    flush(): void {
      if (this.early === null && this.streaming) options.flush();
    }

    closed(): boolean {
      return this.finished;
    }

    /** The response's head went out: what was written before follows it. */
    started(streaming: boolean): void {
      this.streaming = streaming;
      const early = this.early ?? [];
      this.early = null;
      for (const chunk of early) options.emit({ type: 'chunk', data: chunk });
    }

    finish(): void {
      this.finished = true;
    }
  }

  class OutgoingBody {
    readonly sink = new BodySink();
    private stream: OutputStream | null = new OutputStream(this.sink);
    /** The length the response declared, if any. */
    declared: number | null = null;
    /** Set when the response this is the body of was sent. */
    sent = false;

    write(): Result<OutputStream, undefined> {
      const stream = this.stream;
      if (stream === null) return err(undefined);
      this.stream = null;
      return ok(stream);
    }

    static finish(body: OutgoingBody, trailers: Fields | undefined): Result<undefined, { tag: string; val?: unknown }> {
      if (trailers !== undefined && trailers.entriesList.length > 0) {
        return err({ tag: 'internal-error', val: 'trailers are not supported' });
      }
      if (body.declared !== null && body.sink.written !== body.declared) {
        return err({ tag: 'HTTP-response-body-size', val: BigInt(body.sink.written) });
      }
      body.sink.finish();
      if (body.sent) options.emit({ type: 'end' });
      return ok(undefined);
    }
  }

  class OutgoingResponse {
    status = 200;
    readonly fields: Fields;
    private outgoing: OutgoingBody | null = new OutgoingBody();
    readonly bodyOf: OutgoingBody;

    constructor(headers: Fields) {
      headers.immutable = true;
      this.fields = headers;
      this.bodyOf = this.outgoing!;
    }

    statusCode(): number {
      return this.status;
    }

    setStatusCode(status: number): Result<undefined, undefined> {
      if (!Number.isInteger(status) || status < 100 || status > 999) return err(undefined);
      this.status = status;
      return ok(undefined);
    }

    headers(): Fields {
      return this.fields;
    }

    body(): Result<OutgoingBody, undefined> {
      const body = this.outgoing;
      if (body === null) return err(undefined);
      this.outgoing = null;
      return ok(body);
    }
  }

  class ResponseOutparam {
    used = false;

    static set(param: ResponseOutparam, response: Result<OutgoingResponse, { tag: string; val?: unknown }>): void {
      if (param.used) throw new Error('wasi:http/types: response-outparam.set called twice');
      param.used = true;
      if (response.tag === 'err') {
        const detail = response.val.val === undefined ? '' : `: ${String(response.val.val)}`;
        options.emit({ type: 'head', status: 500, headers: [['content-type', 'application/json']] });
        const message = JSON.stringify({ error: `the function answered with an HTTP error: ${response.val.tag}${detail}` });
        options.emit({ type: 'chunk', data: encoder.encode(message) });
        options.emit({ type: 'end' });
        return;
      }
      const outgoing = response.val;
      const headers = outgoing.fields.entriesList.map(([name, value]) => [name, decoder.decode(value)] as [string, string]);
      const length = outgoing.fields.get('content-length')[0];
      const body = outgoing.bodyOf;
      body.declared = length === undefined ? null : Number(decoder.decode(length));
      body.sent = true;
      options.emit({ type: 'head', status: outgoing.status, headers });
      body.sink.started(body.declared === null);
      if (body.sink.closed()) options.emit({ type: 'end' });
    }
  }

  // Outgoing requests: the types exist (a component may import them), sending is refused.
  class RequestOptions {
    connectTimeout(): bigint | undefined {
      return undefined;
    }
    setConnectTimeout(): Result<undefined, undefined> {
      return ok(undefined);
    }
    firstByteTimeout(): bigint | undefined {
      return undefined;
    }
    setFirstByteTimeout(): Result<undefined, undefined> {
      return ok(undefined);
    }
    betweenBytesTimeout(): bigint | undefined {
      return undefined;
    }
    setBetweenBytesTimeout(): Result<undefined, undefined> {
      return ok(undefined);
    }
  }

  class OutgoingRequest {
    private readonly fields: Fields;
    private methodValue: { tag: string; val?: string } = { tag: 'get' };
    private path: string | undefined;
    private schemeValue: { tag: string; val?: string } | undefined;
    private authorityValue: string | undefined;
    private outgoing: OutgoingBody | null = new OutgoingBody();

    constructor(headers: Fields) {
      headers.immutable = true;
      this.fields = headers;
    }
    body(): Result<OutgoingBody, undefined> {
      const body = this.outgoing;
      if (body === null) return err(undefined);
      this.outgoing = null;
      return ok(body);
    }
    method() {
      return this.methodValue;
    }
    setMethod(method: { tag: string; val?: string }): Result<undefined, undefined> {
      this.methodValue = method;
      return ok(undefined);
    }
    pathWithQuery() {
      return this.path;
    }
    setPathWithQuery(path: string | undefined): Result<undefined, undefined> {
      this.path = path;
      return ok(undefined);
    }
    scheme() {
      return this.schemeValue;
    }
    setScheme(scheme: { tag: string; val?: string } | undefined): Result<undefined, undefined> {
      this.schemeValue = scheme;
      return ok(undefined);
    }
    authority() {
      return this.authorityValue;
    }
    setAuthority(authority: string | undefined): Result<undefined, undefined> {
      this.authorityValue = authority;
      return ok(undefined);
    }
    headers(): Fields {
      return this.fields;
    }
  }

  class IncomingResponse {
    status(): number {
      return 0;
    }
    headers(): Fields {
      return Fields.frozen([]);
    }
    consume(): Result<IncomingBody, undefined> {
      return err(undefined);
    }
  }

  class FutureIncomingResponse {
    subscribe(): Pollable {
      return readyPollable();
    }
    get(): undefined {
      return undefined;
    }
  }

  const httpTypes = {
    Fields,
    IncomingRequest,
    IncomingBody,
    FutureTrailers,
    OutgoingResponse,
    OutgoingBody,
    ResponseOutparam,
    OutgoingRequest,
    RequestOptions,
    IncomingResponse,
    FutureIncomingResponse,
    httpErrorCode: () => undefined,
  };

  const outgoingHandler = {
    handle: () => err({ tag: 'HTTP-request-denied' }),
  };

  const imports: Record<string, Record<string, unknown>> = {
    'wasi:io/error': { Error: IoError },
    'wasi:io/poll': { Pollable, poll },
    'wasi:io/streams': { InputStream, OutputStream },
    'wasi:clocks/monotonic-clock': monotonicClock,
    'wasi:clocks/wall-clock': wallClock,
    'wasi:random/random': { getRandomBytes: randomBytes, getRandomU64: randomU64 },
    'wasi:random/insecure': { getInsecureRandomBytes: randomBytes, getInsecureRandomU64: randomU64 },
    'wasi:random/insecure-seed': { insecureSeed: () => [randomU64(), randomU64()] },
    'wasi:cli/environment': environment,
    'wasi:cli/exit': exit,
    'wasi:cli/stdin': { getStdin: () => new InputStream(new BufferSource(new Uint8Array(0))) },
    'wasi:cli/stdout': { getStdout: () => new OutputStream(stdoutSink) },
    'wasi:cli/stderr': { getStderr: () => new OutputStream(stderrSink) },
    'wasi:cli/terminal-input': { TerminalInput },
    'wasi:cli/terminal-output': { TerminalOutput },
    'wasi:cli/terminal-stdin': { getTerminalStdin: () => undefined },
    'wasi:cli/terminal-stdout': { getTerminalStdout: () => undefined },
    'wasi:cli/terminal-stderr': { getTerminalStderr: () => undefined },
    'wasi:filesystem/types': { Descriptor, DirectoryEntryStream, filesystemErrorCode: () => undefined },
    'wasi:filesystem/preopens': preopens,
    'wasi:http/types': httpTypes,
    'wasi:http/outgoing-handler': outgoingHandler,
  };

  return {
    imports,
    interfaces: SUPPORTED_INTERFACES,
    exchange(request: HostRequest): HostExchange {
      return { request: new IncomingRequest(request), responseOut: new ResponseOutparam() };
    },
    isExit(error: unknown): number | null {
      return error instanceof GuestExit ? error.exitCode : null;
    },
  };
}

const api: HostModule = { createHost, SUPPORTED_INTERFACES };
module.exports = api;
