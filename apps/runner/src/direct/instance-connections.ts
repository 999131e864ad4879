import { readFileSync, writeFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import {
  DIRECT_REPORTS_LINE_PREFIX,
  DIRECT_SLOT_SPACING,
  type DirectProgramMessage,
  DirectProgramMessageSchema,
  DirectSlotState,
  type DirectSummary,
  httpStatusOf,
  headers as igniteHeaders,
} from '@ignite/contracts';
import type { Logger } from '@ignite/service-kit';
import type { Admission } from '../data-plane/limits';
import { errorBody } from '../errors';
import { exitFailure } from '../exit-failure';
import type { ExitInfo, InstanceSpec } from '../instance';
import type { Lease } from '../pool';

/** What an instance's direct connections need from the runner (the direct server implements it). */
export interface DirectHost {
  /** A connection an instance gave back (idle, drained, or its program died between requests): route its next request again. */
  readopt(socket: Socket, rest: Buffer): void;
  /** The connection no longer holds its instance slot (`condemn`: the instance must not serve again). */
  release(lease: Lease, condemn?: string): void;
  /**
   * Invocations the program served on direct connections: the summary it wrote, and its
   * `reports` line, recorded as it is (the API validates each report when it stores them).
   */
  reported(spec: InstanceSpec, summary: DirectSummary, line: Buffer): void;
  /** An invocation the program could not answer (it died): the runner answered for it. */
  answeredFor(spec: InstanceSpec, lease: Lease, executionId: string, status: number, error: string): void;
  /** A new execution id (UUIDv7). */
  executionId(): string;
}

interface Attached {
  socket: Socket;
  lease: Lease;
  /** What was handed over with it (to route it again if the handoff fails). */
  head: Buffer;
  /** A connection of the public route: its hold on the limits (null: the internal route). */
  admission: Admission | null;
}

/** Everything of a budget: what a connection that ended badly is charged. */
const ALL = Number.POSITIVE_INFINITY;

/** The slot file's name in the instance's scratch directory. */
export const SLOT_FILE = 'direct-slots';

/**
 * The callers' connections one instance serves directly (a native program, or a wasm host). The runner keeps its own copy of
 * each socket (paused, never read while the program has it) in a numbered slot; the program
 * keeps each slot's state in the slot file. When the program gives a connection back, the runner
 * routes it again; when the program dies, the runner answers for what it was in the middle of
 * (from the slot file) and routes the idle connections again, so that only the requests the
 * program was serving fail.
 */
export class InstanceConnections {
  /** Slot `n`'s connection at `n / DIRECT_SLOT_SPACING`. */
  private readonly slots: (Attached | null)[];
  /** Slots the program may still touch after their connection was taken from it (a request past its time limit). */
  private readonly retired = new Set<number>();
  /** The slot file as the program left it, read when it exited. */
  private finalStates: Uint32Array | null = null;
  /** The summary of the reports the program is about to send. */
  private summary: DirectSummary | null = null;
  /** The program said it serves connections of the public route (`DirectAccess`). */
  publicCapable = false;
  readonly slotFile: string;

  constructor(
    private readonly spec: InstanceSpec,
    dir: string,
    size: number,
    private readonly host: DirectHost,
    private readonly logger: Logger,
  ) {
    this.slots = new Array<Attached | null>(size).fill(null);
    this.slotFile = join(dir, SLOT_FILE);
    writeFileSync(this.slotFile, Buffer.alloc(size * DIRECT_SLOT_SPACING * 4));
  }

  /** Connections in the program's hands. */
  get count(): number {
    let count = 0;
    for (const slot of this.slots) if (slot !== null) count++;
    return count;
  }

  /** Takes a free slot for `socket` (`admission`: a connection of the public route); null when all are taken. */
  reserve(socket: Socket, head: Buffer, lease: Lease, admission: Admission | null): number | null {
    for (let index = 0; index < this.slots.length; index++) {
      const slot = index * DIRECT_SLOT_SPACING;
      if (this.slots[index] !== null || this.retired.has(slot)) continue;
      this.slots[index] = { socket, lease, head, admission };
      lease.onInstanceExit = (info) => this.lost(slot, info);
      socket.on('error', ignore);
      return slot;
    }
    return null;
  }

  /** The connection in `slot` never reached the program: route it again. */
  handoffFailed(slot: number): void {
    const attached = this.take(slot);
    if (attached === null) return;
    attached.admission?.release(0);
    this.host.release(attached.lease);
    this.host.readopt(attached.socket, attached.head);
  }

  /** A line from the program's message pipe. */
  message(line: Buffer): void {
    // Reports are the bulk (one per invocation): not parsed here, recorded with the summary
    // that came just before them and validated one by one where they are stored (the API).
    if (isReportsLine(line)) {
      const summary = this.summary;
      this.summary = null;
      if (summary !== null) this.host.reported(this.spec, summary, line);
      else this.logger.warn('ignored reports a program sent without their summary');
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(line.toString('utf8'));
    } catch {
      raw = undefined;
    }
    const parsed = DirectProgramMessageSchema.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn({ issues: parsed.error.issues.slice(0, 3) }, 'ignored a malformed message from a program');
      return;
    }
    this.handle(parsed.data);
  }

  /** The program exited: keeps the slot file's last states for `lost`. */
  programExited(): void {
    try {
      const bytes = readFileSync(this.slotFile);
      this.finalStates = new Uint32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.length / 4));
    } catch (error) {
      this.logger.warn({ err: error }, 'could not read the slot file of a gone program');
      this.finalStates = new Uint32Array(this.slots.length * DIRECT_SLOT_SPACING);
    }
  }

  private handle(message: DirectProgramMessage): void {
    switch (message.type) {
      case 'summary':
        this.summary = message;
        return;
      case 'reports':
        // Always recognized above (the program writes them in one form).
        return;
      case 'capabilities':
        this.publicCapable = message.public === true;
        return;
      case 'released': {
        const attached = this.take(message.slot);
        if (attached === null) return;
        attached.admission?.release(message.served ?? ALL);
        this.host.release(attached.lease);
        const rest = message.rest !== undefined && message.rest.length > 0 ? Buffer.from(message.rest, 'base64') : null;
        if (message.closed) attached.socket.destroy();
        else if (rest === null) this.host.readopt(attached.socket, Buffer.alloc(0));
        // A public connection's request the program would not serve (another function or key, its
        // key's time or budget spent) is routed anew and authenticated by its own Authorization:
        // what a program could forge there takes a key it was sent. On the internal route the
        // connection itself was authenticated: bytes that came through the program could be a
        // request it forged, as that caller, for another function — such a connection is closed.
        else if (attached.admission !== null) this.host.readopt(attached.socket, rest);
        else attached.socket.destroy();
        return;
      }
      case 'timeout': {
        const attached = this.take(message.slot);
        if (attached === null) return;
        // The program may still be running that request: the slot is never used again.
        this.retired.add(message.slot);
        attached.admission?.release(ALL);
        attached.socket.destroy();
        // Condemned: the pool retires the instance (which then gives its other connections back) and stops it once they are.
        this.host.release(attached.lease, 'an invocation ran past its time limit');
        return;
      }
    }
  }

  /** The instance is gone with the connection in `slot` (its lease hears the exit). */
  private lost(slot: number, info: ExitInfo): void {
    const attached = this.take(slot);
    if (attached === null) return;
    const state = this.finalStates?.[slot] ?? DirectSlotState.request;
    attached.admission?.release(ALL);
    this.host.release(attached.lease);
    if (state === DirectSlotState.idle) {
      this.host.readopt(attached.socket, Buffer.alloc(0));
      return;
    }
    if (state !== DirectSlotState.request) {
      // Part of an answer is out (or the program answered 504 itself): the caller sees it cut short.
      attached.socket.destroy();
      return;
    }
    const { code, message } = exitFailure(info, this.spec.fn);
    const status = httpStatusOf[code];
    const executionId = this.host.executionId();
    const body = errorBody(code, message);
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
      'content-type: application/json',
      `content-length: ${Buffer.byteLength(body)}`,
      'connection: close',
      `${igniteHeaders.executionId}: ${executionId}`,
      `${igniteHeaders.cold}: false`,
      `${igniteHeaders.release}: ${this.spec.release.number}`,
    ].join('\r\n');
    attached.socket.end(`${head}\r\n\r\n${body}`);
    this.host.answeredFor(this.spec, attached.lease, executionId, status, message);
  }

  private take(slot: number): Attached | null {
    if (slot % DIRECT_SLOT_SPACING !== 0) return null;
    const index = slot / DIRECT_SLOT_SPACING;
    const attached = this.slots[index] ?? null;
    if (attached === null) return null;
    this.slots[index] = null;
    attached.lease.onInstanceExit = null;
    attached.socket.off('error', ignore);
    return attached;
  }
}

function ignore(): void {}

const REPORTS_PREFIX = Buffer.from(DIRECT_REPORTS_LINE_PREFIX);
const CLOSING_BRACE = '}'.charCodeAt(0);

function isReportsLine(line: Buffer): boolean {
  return (
    line.length > REPORTS_PREFIX.length && line.subarray(0, REPORTS_PREFIX.length).equals(REPORTS_PREFIX) && line.at(-1) === CLOSING_BRACE
  );
}
