import type { Logger } from '@trellis/platform/logging';
import type { Lease } from '@trellis/platform/mongo';

/**
 * Runs a pass (ReapExpiredLeases under the `job-reaper` lease; ApplyRetention under
 * `job-retention`) every `intervalMs` in the one replica holding the lease; the others stand by
 * and take over when the holder stops renewing. Passes that reap nothing space out, doubling up to
 * 5 × `intervalMs`, so an idle system is not scanned every second.
 */
export class LeaseReaper {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private running = false;
  private delay = 0;

  constructor(
    private readonly reap: { execute(): Promise<number> },
    private readonly lease: Lease,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    /** What the log line of a pass that did something says. */
    private readonly done = 'returned jobs with expired leases',
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce().then((reaped) => {
        const max = this.intervalMs * 5;
        this.delay =
          reaped > 0 ? this.intervalMs : Math.min(max, Math.max(this.delay * 2, this.intervalMs));
        this.schedule(this.delay);
      });
    }, delay);
  }

  /** One pass; resolves with how many jobs it returned. */
  private async runOnce(): Promise<number> {
    let total = 0;
    try {
      if (!(await this.lease.tryAcquire())) return 0;
      for (;;) {
        const reaped = await this.reap.execute();
        total += reaped;
        if (reaped > 0) this.logger.info({ reaped }, this.done);
        if (reaped < 100 || !this.running) break;
      }
    } catch (err) {
      this.logger.warn({ err }, 'reaper pass failed');
    }
    return total;
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass;
    await this.lease.release().catch(() => undefined);
  }
}
