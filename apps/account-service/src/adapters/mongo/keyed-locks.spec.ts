import { KeyedLocks } from './keyed-locks';

describe('KeyedLocks', () => {
  it('queues holders of a common key and lets disjoint keys run together', async () => {
    const locks = new KeyedLocks();
    const order: string[] = [];
    const releaseA = await locks.acquire(['x', 'y']);
    const b = locks.acquire(['y', 'x']).then((release) => {
      order.push('b');
      release();
    });
    const c = locks.acquire(['z']).then((release) => {
      order.push('c');
      release();
    });
    await c;
    expect(order).toEqual(['c']);
    order.push('a done');
    releaseA();
    await b;
    expect(order).toEqual(['c', 'a done', 'b']);
    // Everything released: a new holder gets the keys at once.
    (await locks.acquire(['x', 'y', 'z']))();
  });
});
