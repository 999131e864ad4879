import { parseAppRef, UsageError } from './refs';

describe('parseAppRef', () => {
  it('reads org:app and bare app names', () => {
    expect(parseAppRef('org:hello', 'dflt')).toEqual({ org: 'org', app: 'hello' });
    expect(parseAppRef('hello', 'dflt')).toEqual({ org: 'dflt', app: 'hello' });
  });

  it('refuses what is not a reference', () => {
    for (const bad of ['a:b:c', ':hello', 'org:', 'Hello', 'org:9lives']) {
      expect(() => parseAppRef(bad, 'dflt')).toThrow(UsageError);
    }
  });
});
