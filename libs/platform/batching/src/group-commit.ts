/** What one request of a batch came to. */
export type BatchOutcome<Result> = { value: Result } | { error: unknown };

/** What `promise` came to, as a batch outcome: its value, or the error it rejected with. */
export function outcomeOf<Result>(promise: Promise<Result>): Promise<BatchOutcome<Result>> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

/** Every request of a batch succeeded with its value, in order. */
export function allSucceeded<Result>(values: Result[]): Array<BatchOutcome<Result>> {
  return values.map((value) => ({ value }));
}

export interface GroupCommitOptions {
  /** Requests per batch at most (default 256). */
  maxBatch?: number;
  /** Batches running at once (default 1: each batch is what queued while the previous ran). */
  maxInFlight?: number;
}

/**
 * Group commit: requests that arrive while a batch is being committed queue up and go together
 * in the next one, so under load one transaction (or query) serves many requests instead of one;
 * the busier the pipeline, the larger the batches. A request that finds the queue idle waits one
 * event-loop turn, so the requests of that turn's I/O join it.
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
  private scheduled = false;
  private running = 0;

  constructor(
    private readonly commit: (batch: Request[]) => Promise<Array<BatchOutcome<Result>>>,
    private readonly options: GroupCommitOptions = {},
  ) {}

  submit(request: Request): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  private flush(): void {
    const maxBatch = this.options.maxBatch ?? 256;
    while (this.queue.length > 0 && this.running < (this.options.maxInFlight ?? 1)) {
      const batch = this.queue.splice(0, maxBatch);
      this.running++;
      this.commit(batch.map((entry) => entry.request))
        .then(
          (outcomes) =>
            batch.forEach((entry, i) => {
              const outcome = outcomes[i] ?? { error: new Error('group commit: no outcome') };
              if ('value' in outcome) entry.resolve(outcome.value);
              else entry.reject(outcome.error);
            }),
          (err: unknown) => batch.forEach((entry) => entry.reject(err)),
        )
        .finally(() => {
          this.running--;
          this.flush();
        });
    }
  }
}
