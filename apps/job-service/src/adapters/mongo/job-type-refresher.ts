import type { Logger } from '@trellis/platform/logging';
import type { RefreshJobTypes } from '../../app/refresh-job-types.command';

/**
 * Runs RefreshJobTypes every `intervalMs` in every replica: the devstack MongoDB has no change
 * streams, so types registered on another replica arrive by this short, bounded poll (an indexed
 * query for revisions above the last seen, usually empty).
 */
export class JobTypeRefresher {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly refresh: RefreshJobTypes,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce().finally(() => this.schedule());
    }, this.intervalMs);
  }

  private async runOnce(): Promise<void> {
    try {
      const applied = await this.refresh.execute();
      if (applied > 0) this.logger.info({ applied }, 'job types changed in the catalog');
    } catch (err) {
      this.logger.warn({ err }, 'job type refresh failed');
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass;
  }
}
