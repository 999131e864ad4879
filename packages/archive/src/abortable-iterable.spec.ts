import { abortable } from './abortable-iterable';

describe('abortable', () => {
  it('passes values through until the source ends', async () => {
    async function* source() {
      yield* [1, 2, 3];
    }
    const values: number[] = [];
    for await (const value of abortable(source(), new AbortController().signal)) values.push(value);
    expect(values).toEqual([1, 2, 3]);
  });

  it('ends with the abort reason while waiting on a source that never yields', async () => {
    let returned = false;
    const never: AsyncIterable<number> = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<number>>(() => {}),
        return: async () => {
          returned = true;
          return { done: true, value: undefined };
        },
      }),
    };
    const controller = new AbortController();
    const reading = (async () => {
      for await (const _value of abortable(never, controller.signal)) {
        // never reached
      }
    })();
    controller.abort(new Error('torn down'));
    await expect(reading).rejects.toThrow('torn down');
    expect(returned).toBe(true);
  });
});
