/**
 * Coalesces concurrent calls into batches (group commit): calls collect until the next macrotask,
 * and while `maxInFlight` batches are running they keep collecting, so the busier the pipeline,
 * the larger the batches. `runBatch` returns one result per input, in order; if it fails, every
 * call of that batch fails with the error.
 */
export class Coalescer<In, Out> {
  private pending: Array<{ input: In; resolve(out: Out): void; reject(err: unknown): void }> = [];
  private scheduled = false;
  private running = 0;

  constructor(
    private readonly runBatch: (inputs: In[]) => Promise<Out[]>,
    private readonly options: { maxBatch?: number; maxInFlight?: number } = {},
  ) {}

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const maxBatch = this.options.maxBatch ?? 500;
    while (this.pending.length > 0 && this.running < (this.options.maxInFlight ?? 1)) {
      const batch = this.pending.splice(0, maxBatch);
      this.running++;
      this.runBatch(batch.map((b) => b.input))
        .then(
          (outs) => batch.forEach((b, i) => b.resolve(outs[i])),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.running--;
          this.flush();
        });
    }
  }
}
