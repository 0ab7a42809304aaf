import { allSucceeded, GroupCommit, outcomeOf } from '../src';

describe('GroupCommit', () => {
  it('commits the requests of one event-loop turn together, and later ones in the next batch', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const firstCommitHeld = new Promise<void>((resolve) => (release = resolve));
    const group = new GroupCommit<number, number>(async (batch) => {
      batches.push(batch);
      if (batches.length === 1) await firstCommitHeld;
      return batch.map((n) => ({ value: n * 10 }));
    });
    const first = [1, 2, 3].map((n) => group.submit(n));
    await new Promise((resolve) => setImmediate(resolve));
    // The first batch is committing: these wait and go together.
    const second = [4, 5].map((n) => group.submit(n));
    release();
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('settles each request by its own outcome', async () => {
    const group = new GroupCommit<number, number>(async (batch) =>
      batch.map((n) => (n % 2 === 0 ? { value: n } : { error: new Error(`odd ${n}`) })),
    );
    const results = await Promise.allSettled([1, 2, 3].map((n) => group.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toEqual(new Error('odd 1'));
  });

  it('fails the whole batch when the commit throws, and keeps serving later requests', async () => {
    let calls = 0;
    const group = new GroupCommit<string, string>(async (batch) => {
      if (calls++ === 0) throw new Error('database down');
      return batch.map((value) => ({ value }));
    });
    const failed = await Promise.allSettled([group.submit('a'), group.submit('b')]);
    expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    await expect(group.submit('c')).resolves.toBe('c');
  });

  it('splits a long queue into batches of at most maxBatch', async () => {
    const sizes: number[] = [];
    const group = new GroupCommit<number, number>(
      async (batch) => {
        sizes.push(batch.length);
        return batch.map((value) => ({ value }));
      },
      { maxBatch: 4 },
    );
    await Promise.all(Array.from({ length: 10 }, (_, i) => group.submit(i)));
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('runs up to maxInFlight batches at once', async () => {
    let running = 0;
    let most = 0;
    const group = new GroupCommit<number, number>(
      async (batch) => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
        return allSucceeded(batch);
      },
      { maxBatch: 2, maxInFlight: 2 },
    );
    await Promise.all(Array.from({ length: 8 }, (_, i) => group.submit(i)));
    expect(most).toBe(2);
  });

  it('outcomeOf turns a promise into its value or its error, never a rejection', async () => {
    const boom = new Error('boom');
    expect(await outcomeOf(Promise.resolve(7))).toEqual({ value: 7 });
    expect(await outcomeOf(Promise.reject(boom))).toEqual({ error: boom });
  });

  it('with a weight limit, a batch takes requests while their total stays within it', async () => {
    const batches: number[][] = [];
    const group = new GroupCommit<number, number>(
      async (batch) => {
        batches.push(batch);
        return allSucceeded(batch);
      },
      { weigh: (n) => n, maxBatchWeight: 10 },
    );
    await Promise.all([4, 5, 2, 12, 3].map((n) => group.submit(n)));
    // 4+5 fit, 2 would exceed; 2 goes with the next ones until 12 exceeds; 12 alone; then 3.
    expect(batches).toEqual([[4, 5], [2], [12], [3]]);
  });
});
