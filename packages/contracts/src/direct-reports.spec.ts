import { packDirectReport, readDirectReports, unpackDirectReports } from './direct-reports';
import { invocationStreamFields, readInvocationStreamEntry } from './events';

/** A record as the SDK packs it (sdk/ignite-rs/ignite/src/serve/native/direct/reports.rs), written out here byte by byte. */
function record(options: { id: string; at: number; micros: number; status: number; cold?: boolean; error?: string }): Buffer {
  const head = Buffer.alloc(31);
  Buffer.from(options.id.replaceAll('-', ''), 'hex').copy(head, 0);
  head.writeBigUInt64LE(BigInt(options.at), 16);
  head.writeUInt32LE(options.micros, 24);
  head.writeUInt16LE(options.status, 28);
  head[30] = (options.cold ? 1 : 0) | (options.error === undefined ? 0 : 2);
  if (options.error === undefined) return head;
  const error = Buffer.from(options.error, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16LE(error.length);
  return Buffer.concat([head, length, error]);
}

const ID_1 = '019ae4a1-7c2e-7d31-9a4b-0c1d2e3f4a5b';
const ID_2 = '019ae4a1-7c2e-7d31-9a4b-0c1d2e3f4a5c';
const AT = 1_796_300_000_123;

describe('direct reports', () => {
  it('unpacks records as the SDK packs them: id, start, duration, status, cold, error', () => {
    const packed = Buffer.concat([
      record({ id: ID_1, at: AT, micros: 1_234, status: 200, cold: true }),
      record({ id: ID_2, at: AT + 5, micros: 2_000_000, status: 500, error: 'boom: é' }),
    ]);
    expect(unpackDirectReports(packed)).toEqual({
      reports: [
        { e: ID_1, t: AT, d: 1.234, s: 200, c: true },
        { e: ID_2, t: AT + 5, d: 2000, s: 500, c: false, err: 'boom: é' },
      ],
      invalid: [],
    });
  });

  it('packs records in TypeScript exactly as the SDK does', () => {
    expect(packDirectReport({ e: ID_1, t: AT, d: 1.234, s: 200, c: true })).toEqual(
      record({ id: ID_1, at: AT, micros: 1_234, status: 200, cold: true }),
    );
    expect(packDirectReport({ e: ID_2, t: AT, d: 0.5, s: 500, err: 'boom: é' })).toEqual(
      record({ id: ID_2, at: AT, micros: 500, status: 500, error: 'boom: é' }),
    );
  });

  it('reads the packed form from its message, and the per-report JSON of earlier SDKs', () => {
    const packed = record({ id: ID_1, at: AT, micros: 10, status: 200 }).toString('base64');
    expect(readDirectReports({ type: 'reports', packed }).reports).toEqual([{ e: ID_1, t: AT, d: 0.01, s: 200, c: false }]);
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
    const whole = record({ id: ID_1, at: AT, micros: 10, status: 200 });
    const cut = record({ id: ID_2, at: AT, micros: 10, status: 500, error: 'a long error message' }).subarray(0, 40);
    const read = unpackDirectReports(Buffer.concat([whole, cut]));
    expect(read.reports.map((r) => r.e)).toEqual([ID_1]);
    expect(read.invalid).toHaveLength(1);
    expect(read.invalid[0]![0]!.message).toMatch(/cut short: it needs 53 bytes, 40 are left/);

    const badStatus = unpackDirectReports(record({ id: ID_1, at: AT, micros: 10, status: 42 }));
    expect(badStatus.invalid[0]![0]).toMatchObject({ path: ['s'] });

    for (const message of [
      { type: 'reports' },
      { type: 'reports', packed: 'not base64!' },
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
      packed: record({ id: ID_1, at: AT, micros: 1_500, status: 504, error: 'late' }).toString('base64'),
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
