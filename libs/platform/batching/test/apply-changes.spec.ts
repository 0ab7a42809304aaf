import { applyChanges } from '../src';

interface Counter {
  id: string;
  n: number;
}
type Step = { counter: Counter; events: string[] };
const add =
  (k: number) =>
  (c: Counter): Step => ({ counter: { ...c, n: c.n + k }, events: [`+${k}`] });

describe('applyChanges', () => {
  it('applies in queue order, fails only the request that throws or is missing, skips no-ops', () => {
    const loaded = new Map([
      ['a', { id: 'a', n: 0 }],
      ['b', { id: 'b', n: 5 }],
    ]);
    const requests = [
      { id: 'a', change: add(1) },
      { id: 'a', change: add(2) },
      { id: 'b', change: (c: Counter): Step => ({ counter: c, events: [] }) },
      {
        id: 'b',
        change: (): Step => {
          throw new Error('refused');
        },
      },
      { id: 'x', change: add(1) },
    ];
    const { outcomes, changed, published } = applyChanges(requests, loaded, {
      stateOf: (t: Step) => t.counter,
      notFound: (id) => new Error(`no ${id}`),
    });
    expect(outcomes).toEqual([
      { value: { id: 'a', n: 1 } },
      { value: { id: 'a', n: 3 } },
      { value: { id: 'b', n: 5 } },
      { error: new Error('refused') },
      { error: new Error('no x') },
    ]);
    expect([...changed.values()]).toEqual([{ id: 'a', n: 3 }]);
    expect(published.map((p) => [p.request.id, p.events])).toEqual([
      ['a', ['+1']],
      ['a', ['+2']],
    ]);
    expect(loaded.get('a')).toEqual({ id: 'a', n: 0 });
  });
});
