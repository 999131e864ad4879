import { parseCargoStdoutLine } from './cargo-messages';

describe('parseCargoStdoutLine', () => {
  it('summarizes an error at its primary span', () => {
    const line = JSON.stringify({
      reason: 'compiler-message',
      message: {
        level: 'error',
        message: 'cannot find value `x` in this scope',
        rendered: 'error[E0425]: cannot find value `x` in this scope\n --> src/lib.rs:7:5\n',
        spans: [{ file_name: 'src/lib.rs', line_start: 7, column_start: 5, is_primary: true }],
      },
    });
    expect(parseCargoStdoutLine(line)).toEqual({
      kind: 'diagnostic',
      text: 'error[E0425]: cannot find value `x` in this scope\n --> src/lib.rs:7:5',
      error: 'src/lib.rs:7:5: cannot find value `x` in this scope',
    });
  });

  it('keeps warnings as log text without an error', () => {
    const line = JSON.stringify({
      reason: 'compiler-message',
      message: { level: 'warning', message: 'unused', rendered: 'warning: unused\n' },
    });
    expect(parseCargoStdoutLine(line)).toEqual({ kind: 'diagnostic', text: 'warning: unused' });
  });

  it('ignores artifact notices and passes plain text through', () => {
    expect(parseCargoStdoutLine('{"reason":"compiler-artifact"}')).toEqual({ kind: 'ignored' });
    expect(parseCargoStdoutLine('plain')).toEqual({ kind: 'text', text: 'plain' });
  });
});
