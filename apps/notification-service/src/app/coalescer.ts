/**
 * Coalesces concurrent calls into one batch: calls made while a batch is collecting (until the
 * next macrotask, at most `maxBatch`) run together through `runBatch`, which returns one result
 * per input in order. If the batch fails, every call in it fails with that error.
 */
export class Coalescer<In, Out> {
  private pending: Array<{ input: In; resolve(out: Out): void; reject(err: unknown): void }> = [];
  private scheduled = false;

  constructor(
    private readonly runBatch: (inputs: In[]) => Promise<Out[]>,
    private readonly maxBatch = 500,
  ) {}

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.pending.push({ input, resolve, reject });
      if (this.pending.length >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.runBatch(batch.map((b) => b.input)).then(
      (outs) => batch.forEach((b, i) => b.resolve(outs[i])),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  }
}
