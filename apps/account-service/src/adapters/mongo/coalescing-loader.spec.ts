import { CoalescingLoader } from './coalescing-loader';

describe('CoalescingLoader', () => {
  it('answers concurrent reads with one query per round, duplicates included', async () => {
    const queries: string[][] = [];
    const loader = new CoalescingLoader(async (ids: string[]) => {
      queries.push(ids);
      return new Map(ids.filter((id) => id !== 'missing').map((id) => [id, id.toUpperCase()]));
    });
    const results = await Promise.all(['a', 'b', 'a', 'missing'].map((id) => loader.load(id)));
    expect(results).toEqual(['A', 'B', 'A', undefined]);
    expect(queries).toEqual([['a', 'b', 'missing']]);
    // A later read is a new query: nothing is cached.
    await loader.load('a');
    expect(queries).toHaveLength(2);
  });

  it('splits large rounds and fails only the reads of a failed query', async () => {
    const loader = new CoalescingLoader(async (ids: string[]) => {
      if (ids.includes('bad')) throw new Error('boom');
      return new Map(ids.map((id) => [id, id]));
    }, 2);
    const results = await Promise.allSettled(['x', 'y', 'bad', 'z'].map((id) => loader.load(id)));
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
  });
});
