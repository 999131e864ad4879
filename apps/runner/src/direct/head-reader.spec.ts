import { withoutPlatformHeaders } from './head-reader';

describe('withoutPlatformHeaders', () => {
  it('removes every x-ignite-* header of the head, and keeps the rest and the body bytes as they are', () => {
    const head = [
      'POST /v1/invoke/org/app HTTP/1.1',
      'Host: runner',
      'X-Ignite-Internal-Token: secret',
      'x-ignite-execution-id: forged',
      '  folded continuation of the forged header',
      'Content-Length: 4',
      'X-Other: kept',
      '',
      'body',
    ].join('\r\n');
    const out = withoutPlatformHeaders(Buffer.from(head, 'latin1')).toString('latin1');
    expect(out).toBe(['POST /v1/invoke/org/app HTTP/1.1', 'Host: runner', 'Content-Length: 4', 'X-Other: kept', '', 'body'].join('\r\n'));
    expect(out).not.toMatch(/secret|forged/);
  });

  it('leaves a head without platform headers (or an incomplete one) untouched', () => {
    const clean = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    expect(withoutPlatformHeaders(clean)).toBe(clean);
    const partial = Buffer.from('GET / HTTP/1.1\r\nx-ignite-internal-token: s');
    expect(withoutPlatformHeaders(partial)).toBe(partial);
  });

  it('does not mistake a header whose value mentions x-ignite- for one', () => {
    const head = Buffer.from('GET / HTTP/1.1\r\nReferer: x-ignite-internal-token\r\n\r\n');
    expect(withoutPlatformHeaders(head)).toBe(head);
  });
});
