import { executionIdAt, packDirectReport, readDirectReports, unpackDirectReports } from './direct-reports';
import { invocationStreamFields, readInvocationStreamEntry } from './events';

interface RecordFields {
  id: string;
  micros: number;
  status: number;
  cold?: boolean;
  error?: string;
}

/** A record as the SDK writes it (sdk/ignite-rs/ignite/src/serve/native/direct/reports.rs), byte by byte. */
function record(options: RecordFields): Buffer {
  const head = Buffer.alloc(23);
  Buffer.from(options.id.replaceAll('-', ''), 'hex').copy(head, 0);
  head.writeUInt32LE(options.micros, 16);
  head.writeUInt16LE(options.status, 20);
  head[22] = (options.cold ? 1 : 0) | (options.error === undefined ? 0 : 2);
  return withError(head, options.error);
}

/** A record as earlier SDKs (until 2026-12-03) wrote it: the start a field of its own. */
function packedRecord(options: RecordFields & { at: number }): Buffer {
  const head = Buffer.alloc(31);
  Buffer.from(options.id.replaceAll('-', ''), 'hex').copy(head, 0);
  head.writeBigUInt64LE(BigInt(options.at), 16);
  head.writeUInt32LE(options.micros, 24);
  head.writeUInt16LE(options.status, 28);
  head[30] = (options.cold ? 1 : 0) | (options.error === undefined ? 0 : 2);
  return withError(head, options.error);
}

function withError(head: Buffer, error: string | undefined): Buffer {
  if (error === undefined) return head;
  const bytes = Buffer.from(error, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16LE(bytes.length);
  return Buffer.concat([head, length, bytes]);
}

/** UUIDv7s of the millisecond AT (0x019ae4a17c2e). */
const ID_1 = '019ae4a1-7c2e-7d31-9a4b-0c1d2e3f4a5b';
const ID_2 = '019ae4a1-7c2e-7d31-9a4b-0c1d2e3f4a5c';
const AT = 1_764_772_379_694;
/** A UUIDv4: no start in it. */
const V4 = '2f1c0a52-6a44-4f3e-9b7e-1f2a3b4c5d6e';

describe('direct reports', () => {
  it('unpacks records as the SDK writes them: id (whose millisecond is the start), duration, status, cold, error', () => {
    const records = Buffer.concat([
      record({ id: ID_1, micros: 1_234, status: 200, cold: true }),
      record({ id: ID_2, micros: 2_000_000, status: 500, error: 'boom: é' }),
    ]);
    expect(unpackDirectReports(records)).toEqual({
      reports: [
        { e: ID_1, t: AT, d: 1.234, s: 200, c: true },
        { e: ID_2, t: AT, d: 2000, s: 500, c: false, err: 'boom: é' },
      ],
      invalid: [],
    });
  });

  it('packs records in TypeScript exactly as the SDK does, with ids of a given millisecond', () => {
    expect(packDirectReport({ e: ID_1, d: 1.234, s: 200, c: true })).toEqual(record({ id: ID_1, micros: 1_234, status: 200, cold: true }));
    expect(packDirectReport({ e: ID_2, d: 0.5, s: 500, err: 'boom: é' })).toEqual(
      record({ id: ID_2, micros: 500, status: 500, error: 'boom: é' }),
    );
    const id = executionIdAt(AT + 7);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(unpackDirectReports(packDirectReport({ e: id, d: 1, s: 200 })).reports[0]).toMatchObject({ e: id, t: AT + 7 });
  });

  it('reads each form from its message: records, the packed records and the per-report JSON of earlier SDKs', () => {
    const records = record({ id: ID_1, micros: 10, status: 200 }).toString('base64');
    expect(readDirectReports({ type: 'reports', records }).reports).toEqual([{ e: ID_1, t: AT, d: 0.01, s: 200, c: false }]);
    const packed = packedRecord({ id: V4, at: AT + 5, micros: 10, status: 200, error: 'x' }).toString('base64');
    expect(readDirectReports({ type: 'reports', packed }).reports).toEqual([{ e: V4, t: AT + 5, d: 0.01, s: 200, c: false, err: 'x' }]);
    expect(
      readDirectReports({
        type: 'reports',
        items: [
          { e: ID_1, s: 201, d: 0.5, t: AT },
          { e: '', s: 200, d: 1, t: AT },
        ],
      }),
    ).toMatchObject({
      reports: [{ e: ID_1, s: 201, d: 0.5, t: AT, c: false }],
      invalid: [[{ path: ['e'] }]],
    });
  });

  it('reports a record cut short, and what cannot be a record, as invalid without losing the valid ones', () => {
    const whole = record({ id: ID_1, micros: 10, status: 200 });
    const cut = record({ id: ID_2, micros: 10, status: 500, error: 'a long error message' }).subarray(0, 32);
    const read = unpackDirectReports(Buffer.concat([whole, cut]));
    expect(read.reports.map((r) => r.e)).toEqual([ID_1]);
    expect(read.invalid).toHaveLength(1);
    expect(read.invalid[0]![0]).toMatchObject({
      path: ['records', 23],
      message: expect.stringMatching(/cut short: it needs 45 bytes, 32 are left/),
    });

    const badStatus = unpackDirectReports(record({ id: ID_1, micros: 10, status: 42 }));
    expect(badStatus.invalid[0]![0]).toMatchObject({ path: ['s'] });
    // A record's start is its id's: an id that is not a UUIDv7 has none.
    const noStart = unpackDirectReports(record({ id: V4, micros: 10, status: 200 }));
    expect(noStart.reports).toEqual([]);
    expect(noStart.invalid[0]![0]).toMatchObject({ path: ['t'] });

    for (const message of [
      { type: 'reports' },
      { type: 'reports', records: 'not base64!' },
      { type: 'reports', records: '', packed: '' },
      { type: 'reports', packed: '', items: [] },
      'nonsense',
    ]) {
      const read = readDirectReports(message);
      expect(read.reports).toEqual([]);
      expect(read.invalid).toHaveLength(1);
    }
  });

  it('turns a direct stream entry into the reports of its app and release', () => {
    const appId = '7d1c0a52-6a44-4f3e-9b7e-1f2a3b4c5d6e';
    const releaseId = '8e2d1b63-7b55-4a4f-8c8f-2a3b4c5d6e7f';
    const line = JSON.stringify({
      type: 'reports',
      records: record({ id: ID_1, micros: 1_500, status: 504, error: 'late' }).toString('base64'),
    });
    const { direct, app, release } = invocationStreamFields;
    expect(readInvocationStreamEntry([direct, line, app, appId, release, releaseId])).toEqual({
      reports: [
        {
          executionId: ID_1,
          appId,
          releaseId,
          statusCode: 504,
          durationMs: 1.5,
          cold: false,
          error: 'late',
          at: new Date(AT).toISOString(),
        },
      ],
      invalid: [],
    });
    expect(readInvocationStreamEntry([direct, line, app, 'not-a-uuid', release, releaseId]).invalid).toHaveLength(1);
  });
});
