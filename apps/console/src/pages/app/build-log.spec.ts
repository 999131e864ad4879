import { diagnosticLinks } from './build-log';

const log = [
  '   Compiling hello v0.1.0',
  'error[E0425]: cannot find value `x` in this scope',
  ' --> src/lib.rs:5:8',
  '  |',
  'error[E0308]: mismatched types',
  ' --> src/other.rs:2:1',
];

describe('diagnosticLinks', () => {
  it("links each recorded error to the log line with cargo's arrow at its location", () => {
    expect(diagnosticLinks(['src/lib.rs:5:8: cannot find value `x` in this scope', 'src/other.rs:2:1: mismatched types'], log)).toEqual([
      { location: 'src/lib.rs:5:8', message: 'cannot find value `x` in this scope', line: 2 },
      { location: 'src/other.rs:2:1', message: 'mismatched types', line: 5 },
    ]);
  });

  it('keeps an error without a location, or whose location the log does not show, unlinked', () => {
    expect(diagnosticLinks(['linking with `cc` failed', 'src/gone.rs:1:1: vanished'], log)).toEqual([
      { location: undefined, message: 'linking with `cc` failed', line: undefined },
      { location: 'src/gone.rs:1:1', message: 'vanished', line: undefined },
    ]);
  });

  it('reads nothing from diagnostics that are not a list of strings', () => {
    expect(diagnosticLinks(null, log)).toEqual([]);
    expect(diagnosticLinks([42, { file: 'x' }], log)).toEqual([]);
  });
});
