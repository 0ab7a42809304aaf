/**
 * In-process queues per key. Transactions that will write the same documents wait for each other
 * here instead of colliding in MongoDB as write conflicts and retrying with backoff; keys are
 * taken in sorted order, so two callers never wait on each other. Correctness never depends on
 * this (other replicas do not share it): the database transaction does.
 */
export class KeyedLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(keys: string[]): Promise<() => void> {
    const releases: Array<() => void> = [];
    for (const key of [...new Set(keys)].sort()) {
      const previous = this.tails.get(key);
      let release!: () => void;
      const mine = new Promise<void>((resolve) => (release = resolve));
      const tail = previous ? previous.then(() => mine) : mine;
      this.tails.set(key, tail);
      releases.push(() => {
        release();
        if (this.tails.get(key) === tail) this.tails.delete(key);
      });
      if (previous) await previous;
    }
    return () => {
      for (const release of releases) release();
    };
  }
}
