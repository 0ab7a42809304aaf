import { GroupCommit } from '@trellis/platform/batching';

/**
 * Coalesced point reads: every `load(id)` issued while the event loop works through one round of
 * I/O (or while earlier reads are in flight) becomes part of a single `loadMany` (one
 * `{_id: {$in: …}}` query), duplicates asked once. Each read is still issued after its request
 * arrived, so it sees every write committed before — nothing is cached between rounds.
 */
export class CoalescingLoader<V> {
  private readonly reads: GroupCommit<string, V | undefined>;

  constructor(loadMany: (ids: string[]) => Promise<Map<string, V>>, maxBatch = 256) {
    this.reads = new GroupCommit(
      async (ids) => {
        const found = await loadMany([...new Set(ids)]);
        return ids.map((id) => ({ value: found.get(id) }));
      },
      { maxBatch, maxInFlight: 4 },
    );
  }

  load(id: string): Promise<V | undefined> {
    return this.reads.submit(id);
  }
}
