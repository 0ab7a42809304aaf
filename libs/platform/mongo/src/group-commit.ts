/** What one request of a batch came to. */
export type BatchOutcome<Result> = { value: Result } | { error: unknown };

/**
 * Group commit: requests that arrive while a batch is being committed queue up and go together
 * in the next one, so under load one transaction (a handful of round trips) serves many requests
 * instead of one. A request that finds the queue idle waits one event-loop turn, so the requests
 * of that turn's I/O join it. Batches run one after the other.
 *
 * `commit` settles each request of its batch through its outcome; if it throws, every request of
 * the batch fails with that error.
 */
export class GroupCommit<Request, Result> {
  private queue: Array<{
    request: Request;
    resolve(value: Result): void;
    reject(err: unknown): void;
  }> = [];
  private active = false;

  constructor(
    private readonly commit: (batch: Request[]) => Promise<Array<BatchOutcome<Result>>>,
    private readonly maxBatch = 256,
  ) {}

  submit(request: Request): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (this.active) return;
      this.active = true;
      setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const outcomes = await this.commit(batch.map((entry) => entry.request));
        batch.forEach((entry, i) => {
          const outcome = outcomes[i] ?? { error: new Error('group commit: no outcome') };
          if ('value' in outcome) entry.resolve(outcome.value);
          else entry.reject(outcome.error);
        });
      } catch (err) {
        for (const entry of batch) entry.reject(err);
      }
    }
    this.active = false;
  }
}
