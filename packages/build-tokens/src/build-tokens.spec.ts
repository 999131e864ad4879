import {
  BuildTokenError,
  generateBuildTokenKey,
  loadBuildTokenKey,
  MIN_BUILD_TOKEN_KEY_BYTES,
  signBuildToken,
  verifyBuildToken,
} from './build-tokens';

describe('build tokens', () => {
  const key = generateBuildTokenKey();
  const buildA = '0192f3c4-1111-7000-8000-00000000000a';
  const buildB = '0192f3c4-2222-7000-8000-00000000000b';
  const now = Date.parse('2025-06-01T12:00:00Z');

  const problem = (fn: () => unknown): BuildTokenError => {
    try {
      fn();
    } catch (error) {
      if (error instanceof BuildTokenError) return error;
      throw error;
    }
    throw new Error('expected a BuildTokenError');
  };

  it('grants exactly the build and scope it was signed for, until it expires', () => {
    const token = signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 600 }, key, now);
    expect(verifyBuildToken(token, { buildId: buildA, scope: 'context:read' }, key, { now: now + 599_000 })).toEqual({
      buildId: buildA,
      scope: 'context:read',
      issuedAt: now / 1000,
      expiresAt: now / 1000 + 600,
    });
  });

  it('expires', () => {
    const token = signBuildToken({ buildId: buildA, scope: 'artifact:write', ttlSeconds: 60 }, key, now);
    const expired = problem(() => verifyBuildToken(token, { buildId: buildA, scope: 'artifact:write' }, key, { now: now + 61_000 }));
    expect(expired.reason).toBe('expired');
    expect(expired.forbidden).toBe(false);
    // Within the clock tolerance it still passes.
    expect(() =>
      verifyBuildToken(token, { buildId: buildA, scope: 'artifact:write' }, key, { now: now + 61_000, clockToleranceSeconds: 5 }),
    ).not.toThrow();
  });

  it("does not open another build's context or artifact", () => {
    const read = signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 600 }, key, now);
    const write = signBuildToken({ buildId: buildA, scope: 'artifact:write', ttlSeconds: 600 }, key, now);
    expect(problem(() => verifyBuildToken(read, { buildId: buildB, scope: 'context:read' }, key, { now })).reason).toBe('wrong-build');
    const wrongBuild = problem(() => verifyBuildToken(write, { buildId: buildB, scope: 'artifact:write' }, key, { now }));
    expect(wrongBuild.reason).toBe('wrong-build');
    expect(wrongBuild.forbidden).toBe(true);
  });

  it('grants one operation only', () => {
    const read = signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 600 }, key, now);
    const write = signBuildToken({ buildId: buildA, scope: 'artifact:write', ttlSeconds: 600 }, key, now);
    expect(problem(() => verifyBuildToken(read, { buildId: buildA, scope: 'artifact:write' }, key, { now })).reason).toBe('wrong-scope');
    expect(problem(() => verifyBuildToken(write, { buildId: buildA, scope: 'context:read' }, key, { now })).reason).toBe('wrong-scope');
  });

  it('detects tampering with the payload or the signature', () => {
    const token = signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 60 }, key, now);
    const [version, payload, sig] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forge = (changes: object) => `${version}.${Buffer.from(JSON.stringify({ ...claims, ...changes })).toString('base64url')}.${sig}`;

    for (const forged of [forge({ b: buildB }), forge({ s: 'artifact:write' }), forge({ exp: claims.exp + 86_400 })]) {
      expect(problem(() => verifyBuildToken(forged, { buildId: buildA, scope: 'context:read' }, key, { now })).reason).toBe(
        'bad-signature',
      );
    }
    const flipped = `${version}.${payload}.${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    expect(problem(() => verifyBuildToken(flipped, { buildId: buildA, scope: 'context:read' }, key, { now })).reason).toBe('bad-signature');
    expect(
      problem(() => verifyBuildToken(`${version}.${payload}.${sig.slice(0, 10)}`, { buildId: buildA, scope: 'context:read' }, key, { now }))
        .reason,
    ).toBe('bad-signature');
  });

  it('rejects a token signed with another key', () => {
    const token = signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 60 }, generateBuildTokenKey(), now);
    expect(problem(() => verifyBuildToken(token, { buildId: buildA, scope: 'context:read' }, key, { now })).reason).toBe('bad-signature');
  });

  it('rejects what is not a token', () => {
    for (const junk of ['', 'abc', 'ibt1..', 'ibt2.e30.AAAA', 'Bearer x.y.z']) {
      expect(problem(() => verifyBuildToken(junk, { buildId: buildA, scope: 'context:read' }, key, { now })).reason).toBe('malformed');
    }
  });

  it('refuses short keys, bad build ids and unbounded lifetimes', () => {
    expect(() => signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 60 }, 'short')).toThrow(/at least 32 bytes/);
    expect(() => signBuildToken({ buildId: '../etc', scope: 'context:read', ttlSeconds: 60 }, key)).toThrow(/not a build id/);
    expect(() => signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 0 }, key)).toThrow(/ttlSeconds/);
    expect(() => signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 10 * 86_400 }, key)).toThrow(/ttlSeconds/);
  });

  it('reads the key from IGNITE_BUILD_TOKEN_KEY and has no default', () => {
    expect(() => loadBuildTokenKey({})).toThrow(/IGNITE_BUILD_TOKEN_KEY is not set/);
    expect(() => loadBuildTokenKey({ IGNITE_BUILD_TOKEN_KEY: 'x'.repeat(MIN_BUILD_TOKEN_KEY_BYTES - 1) })).toThrow(/at least 32 bytes/);
    const loaded = loadBuildTokenKey({ IGNITE_BUILD_TOKEN_KEY: key });
    const token = signBuildToken({ buildId: buildA, scope: 'context:read', ttlSeconds: 60 }, loaded);
    expect(verifyBuildToken(token, { buildId: buildA, scope: 'context:read' }, key).buildId).toBe(buildA);
  });
});
