import type { Logger } from '@trellis/platform/logging';
import type { Lease } from '@trellis/platform/mongo';
import type { ReapExpiredLeases } from '../../app/reap-expired-leases.command';

/**
 * Runs ReapExpiredLeases every `intervalMs` in the one replica holding the `job-reaper` lease;
 * the others stand by and take over when the holder stops renewing.
 */
export class LeaseReaper {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly reap: ReapExpiredLeases,
    private readonly lease: Lease,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  private schedule(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce().finally(() => this.schedule(this.intervalMs));
    }, delay);
  }

  private async runOnce(): Promise<void> {
    try {
      if (!(await this.lease.tryAcquire())) return;
      for (;;) {
        const reaped = await this.reap.execute();
        if (reaped > 0) this.logger.info({ reaped }, 'returned jobs with expired leases');
        if (reaped < 100 || !this.running) break;
      }
    } catch (err) {
      this.logger.warn({ err }, 'reaper pass failed');
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass;
    await this.lease.release().catch(() => undefined);
  }
}
