/**
 * Wakes long-polling ClaimJobs calls in this process when a job of their types may have become due
 * (created, retried, requeued). Other replicas' changes are found by the waiters' poll fallback.
 */
export class ClaimNotifier {
  private readonly waiters = new Set<{ types: Set<string>; wake: () => void }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly versions = new Map<string, number>();
  private closedFlag = false;

  /** Set by `close()`: the service is shutting down and long-polls should return at once. */
  get closed(): boolean {
    return this.closedFlag;
  }

  /** Changes whenever a job of one of `types` became due here; a claimer compares it across its claim. */
  version(types: string[]): number {
    let sum = 0;
    for (const type of types) sum += this.versions.get(type) ?? 0;
    return sum;
  }

  /** A job of `type` is due at `runAt` (now when omitted or past). */
  notify(type: string, runAt?: Date): void {
    const delay = runAt ? runAt.getTime() - Date.now() : 0;
    if (delay > 0) {
      if (delay > 60_000) return; // the poll fallback finds it
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.notify(type);
      }, delay + 1);
      timer.unref();
      this.timers.add(timer);
      return;
    }
    this.versions.set(type, (this.versions.get(type) ?? 0) + 1);
    for (const waiter of this.waiters) if (waiter.types.has(type)) waiter.wake();
  }

  /** Resolves on a matching notify, after `timeoutMs`, or when `signal` aborts. */
  wait(types: string[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || timeoutMs <= 0 || this.closedFlag) return resolve();
      const waiter = { types: new Set(types), wake: () => done() };
      const timer = setTimeout(() => done(), timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      signal?.addEventListener('abort', done);
      this.waiters.add(waiter);
    });
  }

  /** Ends every wait now and every later one at once (shutdown: long-polls return empty). */
  close(): void {
    this.closedFlag = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const waiter of this.waiters) waiter.wake();
  }
}
