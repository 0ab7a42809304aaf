/** Wakes long-polling Fetch requests when one of the partitions they wait on gets new data. */
export class AppendSignal {
  private readonly waiters = new Set<{ keys: ReadonlySet<string>; wake: () => void }>();

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  notify(topic: string, partition: number): void {
    const key = AppendSignal.key(topic, partition);
    for (const w of this.waiters) if (w.keys.has(key)) w.wake();
  }

  /** Resolves on an append to one of `keys`, after `timeoutMs`, or on {@link wakeAll}. */
  wait(keys: ReadonlySet<string>, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const waiter = {
        keys,
        wake: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, Math.max(0, timeoutMs));
      this.waiters.add(waiter);
    });
  }

  wakeAll(): void {
    for (const w of [...this.waiters]) w.wake();
  }
}
