import type { Logger } from '@trellis/platform/logging';
import type { RefreshJobTypes } from '../../app/refresh-job-types.command';

/**
 * Runs RefreshJobTypes in every replica: the devstack MongoDB has no change streams, so types
 * registered on another replica arrive by this short, bounded poll (an indexed query for revisions
 * above the last seen, usually empty). It runs every `intervalMs` after a pass that saw a change;
 * while nothing changes the gap doubles up to `maxIntervalMs`, the longest a change goes unseen.
 */
export class JobTypeRefresher {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private running = false;
  private delay: number;

  constructor(
    private readonly refresh: RefreshJobTypes,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly maxIntervalMs = intervalMs,
  ) {
    this.delay = intervalMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce().then((changed) => {
        const doubled = Math.min(this.maxIntervalMs, this.delay * 2);
        this.delay = changed ? this.intervalMs : Math.max(this.intervalMs, doubled);
        this.schedule();
      });
    }, this.delay);
  }

  /** One pass; true when it applied a change. */
  private async runOnce(): Promise<boolean> {
    try {
      const applied = await this.refresh.execute();
      if (applied > 0) this.logger.info({ applied }, 'job types changed in the catalog');
      return applied > 0;
    } catch (err) {
      this.logger.warn({ err }, 'job type refresh failed');
      return false;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass;
  }
}
