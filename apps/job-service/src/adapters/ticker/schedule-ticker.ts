import type { Logger } from '@trellis/platform/logging';
import type { FireDueSchedules } from '../../app/fire-due-schedules.command';

/** Due schedules one pass takes at most; a full pass is followed by the next at once. */
const PASS_LIMIT = 500;

/**
 * Runs FireDueSchedules every `intervalMs` in every replica (no leader: firings are conditional on
 * the schedule's version and keyed by tick, so racing replicas fire a tick once and a replica that
 * dies mid-pass leaves nothing half-written).
 */
export class ScheduleTicker {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private running = false;

  constructor(
    private readonly fireDue: FireDueSchedules,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.next(0);
  }

  private next(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce().then((more) => this.next(more ? 0 : this.intervalMs));
    }, delay);
  }

  /** One pass; true when it was full (more may be due). */
  private async runOnce(): Promise<boolean> {
    try {
      const result = await this.fireDue.execute({ limit: PASS_LIMIT });
      for (const { scheduleId, error } of result.failures)
        this.logger.warn({ err: error, schedule_id: scheduleId }, 'schedule firing failed');
      if (result.jobs > 0) this.logger.debug({ jobs: result.jobs }, 'schedules fired');
      return result.due === PASS_LIMIT && result.failures.length < result.due;
    } catch (err) {
      this.logger.warn({ err }, 'schedule ticker pass failed');
      return false;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass;
  }
}
