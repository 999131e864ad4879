import { parseEnvLines } from './env-lines';

describe('parseEnvLines', () => {
  it('reads NAME=value lines, keeping = and spaces inside values, skipping blanks and comments', () => {
    expect(parseEnvLines('GREETING=hi there\n\n# a comment\nURL=a=b\n')).toEqual({ env: { GREETING: 'hi there', URL: 'a=b' } });
  });

  it('names the first line that is not NAME=value', () => {
    expect(parseEnvLines('A=1\njust words\nB=2')).toEqual({ problem: 'Environment line 2 is not NAME=value: “just words”.' });
    expect(parseEnvLines('=value')).toEqual({ problem: 'Environment line 1 is not NAME=value: “=value”.' });
  });
});
