import { type Candidate, ClaimCandidates, claimOrder } from './claim-candidates';

const job = (id: string, priority: number, runAt = 0, createdAt = 0): Candidate => ({
  id,
  priority,
  runAt,
  createdAt,
});
const ids = (list: Candidate[] | undefined) => list?.map((c) => c.id);

describe('claimOrder', () => {
  it('orders by priority (high first), run_at, creation, then id', () => {
    const sorted = [
      job('e', 0, 5, 1),
      job('b', 5, 9, 9),
      job('d', 0, 1, 7),
      job('a', 9, 9, 9),
      job('c', 0, 1, 2),
      job('f', 0, 1, 2),
    ].sort(claimOrder);
    expect(ids(sorted)).toEqual(['a', 'b', 'c', 'f', 'd', 'e']);
  });
});

describe('ClaimCandidates', () => {
  const now = 1_000;

  it('serves a scanned list until it expires or runs dry while cut short', () => {
    const candidates = new ClaimCandidates(250);
    const key = ClaimCandidates.key(['b', 'a']);
    expect(key).toBe(ClaimCandidates.key(['a', 'b']));
    expect(candidates.get(key, now)).toBeUndefined();
    const live = candidates.set(key, ['a', 'b'], [job('x', 1)], true, now);
    expect(ids(candidates.get(key, now + 100))).toEqual(['x']);
    live.splice(0, 1);
    // Empty, but the scan was cut at its limit: scan again.
    expect(candidates.get(key, now + 100)).toBeUndefined();
    candidates.set(key, ['a', 'b'], [], false, now);
    expect(candidates.get(key, now + 100)).toEqual([]);
    expect(candidates.get(key, now + 250)).toBeUndefined();
  });

  it('puts a job made due here at its place in claim order, in every list of its type', () => {
    const candidates = new ClaimCandidates(250);
    candidates.set('a', ['a'], [job('p9', 9), job('p1', 1)], false, now);
    candidates.set('a\nb', ['a', 'b'], [job('p5', 5)], false, now);
    candidates.set('b', ['b'], [job('q', 3)], false, now);
    candidates.add('a', job('p4', 4, now), now);
    expect(ids(candidates.get('a', now))).toEqual(['p9', 'p4', 'p1']);
    expect(ids(candidates.get('a\nb', now))).toEqual(['p5', 'p4']);
    expect(ids(candidates.get('b', now))).toEqual(['q']);
    // Added twice (e.g. create, then a requeue): listed once.
    candidates.add('a', job('p4', 4, now), now);
    expect(ids(candidates.get('a', now))).toEqual(['p9', 'p4', 'p1']);
  });

  it('leaves out jobs not due yet, and jobs past the end of a list cut short', () => {
    const candidates = new ClaimCandidates(250);
    candidates.set('a', ['a'], [job('p9', 9), job('p5', 5)], true, now);
    candidates.add('a', job('future', 99, now + 1), now);
    candidates.add('a', job('p1', 1), now);
    candidates.add('a', job('p7', 7), now);
    expect(ids(candidates.get('a', now))).toEqual(['p9', 'p7', 'p5']);
  });
});
