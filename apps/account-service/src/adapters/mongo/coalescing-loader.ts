type Waiter<V> = { resolve(value: V | undefined): void; reject(err: unknown): void };

/**
 * Coalesces point reads: every `load(id)` issued while the event loop works through one round of
 * I/O becomes part of a single `loadMany` (one `{_id: {$in: …}}` query), sent once that round
 * ends. Each read is still issued after its request arrived, so it sees every write committed
 * before — nothing is cached between rounds.
 */
export class CoalescingLoader<V> {
  private pending = new Map<string, Array<Waiter<V>>>();
  private scheduled = false;

  constructor(
    private readonly loadMany: (ids: string[]) => Promise<Map<string, V>>,
    private readonly maxBatch = 256,
  ) {}

  load(id: string): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(id);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(id, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = new Map();
    const ids = [...batch.keys()];
    for (let i = 0; i < ids.length; i += this.maxBatch) {
      const chunk = ids.slice(i, i + this.maxBatch);
      this.loadMany(chunk).then(
        (found) => {
          for (const id of chunk) for (const w of batch.get(id)!) w.resolve(found.get(id));
        },
        (err: unknown) => {
          for (const id of chunk) for (const w of batch.get(id)!) w.reject(err);
        },
      );
    }
  }
}
