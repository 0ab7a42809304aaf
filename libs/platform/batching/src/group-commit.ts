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

export interface GroupCommitOptions<Request = unknown> {
  /** Requests per batch at most (default 256). */
  maxBatch?: number;
  /**
   * With `maxBatchWeight`: a batch takes requests while their total weight stays within it (a
   * heavier request goes alone), e.g. bytes, so a batch stays under a message size limit.
   */
  weigh?: (request: Request) => number;
  maxBatchWeight?: number;
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
    weight: number;
    resolve(value: Result): void;
    reject(err: unknown): void;
  }> = [];
  private scheduled = false;
  private running = 0;

  constructor(
    private readonly commit: (batch: Request[]) => Promise<Array<BatchOutcome<Result>>>,
    private readonly options: GroupCommitOptions<Request> = {},
  ) {}

  submit(request: Request): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, weight: this.options.weigh?.(request) ?? 0, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    });
  }

  /** How many queued requests the next batch takes: up to `maxBatch` and `maxBatchWeight`. */
  private batchLength(maxBatch: number): number {
    const { maxBatchWeight } = this.options;
    if (maxBatchWeight === undefined) return maxBatch;
    let weight = 0;
    let n = 0;
    while (n < Math.min(maxBatch, this.queue.length)) {
      weight += this.queue[n].weight;
      if (n > 0 && weight > maxBatchWeight) break;
      n++;
    }
    return n;
  }

  private flush(): void {
    const maxBatch = this.options.maxBatch ?? 256;
    while (this.queue.length > 0 && this.running < (this.options.maxInFlight ?? 1)) {
      const batch = this.queue.splice(0, this.batchLength(maxBatch));
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
