import type { Logger } from '@trellis/platform/logging';
import type { FireDueSchedules } from '../../app/fire-due-schedules.command';

/** Due schedules one pass takes at most; a full pass is followed by the next at once. */
const PASS_LIMIT = 500;

export interface ScheduleTickerPace {
  /** How soon a pass that left due schedules behind (a failed firing, an error) runs again. */
  intervalMs: number;
  /**
   * The longest sleep: how soon a schedule created, updated or resumed on ANOTHER replica (or a
   * clock moved by hand) is seen. Changes made in this replica wake the ticker at once (`wake`).
   */
  maxIdleMs: number;
}

/**
 * Fires due schedules (FireDueSchedules) in every replica (no leader: firings are conditional on
 * the schedule's version and keyed by tick, so racing replicas fire a tick once and a replica that
 * dies mid-pass leaves nothing half-written). Between passes it sleeps until the earliest schedule
 * is due, at most `maxIdleMs`, so an idle system is not scanned every second while a tick still
 * fires on time.
 */
export class ScheduleTicker {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private running = false;
  /** A wake arrived during a pass: run another right after it (it may have missed the change). */
  private woken = false;

  constructor(
    private readonly fireDue: FireDueSchedules,
    private readonly pace: ScheduleTickerPace,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.next(0);
  }

  /** A schedule changed in this replica: look again now instead of at the planned wake-up. */
  wake(): void {
    if (!this.running) return;
    if (this.pass) {
      this.woken = true;
      return;
    }
    clearTimeout(this.timer);
    this.next(0);
  }

  private next(delay: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.woken = false;
      this.pass = this.runOnce().then((after) => {
        this.pass = undefined;
        this.next(this.woken ? 0 : after);
      });
    }, delay);
  }

  /** One pass; resolves with how long to sleep before the next. */
  private async runOnce(): Promise<number> {
    const { intervalMs, maxIdleMs } = this.pace;
    try {
      const result = await this.fireDue.execute({ limit: PASS_LIMIT });
      for (const { scheduleId, error } of result.failures)
        this.logger.warn({ err: error, schedule_id: scheduleId }, 'schedule firing failed');
      if (result.jobs > 0) this.logger.debug({ jobs: result.jobs }, 'schedules fired');
      if (result.due === PASS_LIMIT && result.failures.length < result.due) return 0;
      const { nextDueInMs } = result;
      if (nextDueInMs === null) return maxIdleMs;
      // Still due after the pass (a failed firing, or another replica's in flight): retry later.
      return Math.min(maxIdleMs, nextDueInMs > 0 ? nextDueInMs : intervalMs);
    } catch (err) {
      this.logger.warn({ err }, 'schedule ticker pass failed');
      return intervalMs;
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.pass;
  }
}
