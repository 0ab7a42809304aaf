import { ClaimAllocation, claimGroups, claimTime, typeSetKey } from './claim-policy';
import { MAX_RESPONSE_JSON_BYTES } from './job';

describe('claim policy', () => {
  it('groups claims by set of types, in arrival order', () => {
    const wants = [
      { types: ['a', 'b'], maxJobs: 1 },
      { types: ['c'], maxJobs: 1 },
      { types: ['b', 'a'], maxJobs: 2 },
    ];
    expect(claimGroups(wants)).toEqual([
      { key: typeSetKey(['a', 'b']), types: ['a', 'b'], claims: [0, 2] },
      { key: typeSetKey(['c']), types: ['c'], claims: [1] },
    ]);
  });

  it('fills the claims of a group in order, each up to its max', () => {
    const wants = [
      { types: ['a'], maxJobs: 2 },
      { types: ['a'], maxJobs: 1 },
    ];
    const allocation = new ClaimAllocation(wants, claimGroups(wants)[0]);
    expect(allocation.wanted()).toBe(3);
    expect([allocation.take(10), allocation.take(10), allocation.take(10)]).toEqual([0, 0, 1]);
    expect(allocation.done).toBe(true);
    expect(allocation.take(10)).toBeUndefined();
  });

  it('moves to the next claim when a job would break the byte budget; a larger job goes alone', () => {
    const wants = [
      { types: ['a'], maxJobs: 5 },
      { types: ['a'], maxJobs: 5 },
    ];
    const allocation = new ClaimAllocation(wants, claimGroups(wants)[0]);
    expect(allocation.take(MAX_RESPONSE_JSON_BYTES + 1)).toBe(0);
    expect(allocation.take(1)).toBe(1);
    expect(allocation.take(MAX_RESPONSE_JSON_BYTES)).toBeUndefined();
    expect(allocation.done).toBe(true);
  });

  it('claims served together are due by the latest of their times', () => {
    expect(claimTime([new Date(5), new Date(9), new Date(7)])).toEqual(new Date(9));
  });
});
