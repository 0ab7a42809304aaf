import { cancel, type Job, type Transition } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import { appendRuns, planTicks, type Schedule } from '../domain/schedule';
import type { ClaimNotifier } from './support/claim-notifier';
import type { FireTransition, ScheduleRepository } from './ports/schedule.repository.port';
import type { Runtime } from './ports/runtime.port';
import { scheduledJob } from './support/schedule-input';

export interface FireDueSchedulesDeps {
  schedules: ScheduleRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
  notifier: ClaimNotifier;
}

export interface FireDueSchedulesResult {
  /** Due schedules found. */
  due: number;
  /** Firings this replica committed (another replica may have done the rest). */
  fired: number;
  /** Jobs those firings created. */
  jobs: number;
  /** Schedules whose firing failed (e.g. their job type is no longer declared), with why. */
  failures: Array<{ scheduleId: string; error: unknown }>;
  /** How long from now until the earliest schedule is due (null: none is); ≤ 0 when one still is. */
  nextDueInMs: number | null;
}

/** Schedules fired in one transaction. */
const BATCH = 50;
/** Transactions in flight at once per pass. */
const CONCURRENCY = 4;

/**
 * One ticker pass: every schedule due now is fired — its due ticks planned by the catch-up and
 * overlap policies, their jobs created with the schedule's next state in one transaction (a batch
 * of schedules per transaction). Each firing is conditional on the schedule's version, so replicas racing for a schedule fire it once.
 */
export class FireDueSchedules {
  constructor(private readonly deps: FireDueSchedulesDeps) {}

  async execute(input: { limit: number }): Promise<FireDueSchedulesResult> {
    const now = this.deps.runtime.now();
    const ids = await this.deps.schedules.findDue(now, input.limit);
    // Replicas start at different places in the due list, so they mostly fire different schedules.
    const offset = Math.floor(this.deps.runtime.random() * ids.length);
    const queue = [...ids.slice(offset), ...ids.slice(0, offset)];
    const result: FireDueSchedulesResult = {
      due: ids.length,
      fired: 0,
      jobs: 0,
      failures: [],
      nextDueInMs: null,
    };
    const fire = async (batch: string[]) => {
      const outcomes = await this.deps.schedules.fireMany(batch, (s, previous) =>
        this.change(s, previous, now),
      );
      for (const fired of outcomes) {
        if (!fired) continue;
        result.fired++;
        result.jobs += fired.jobs.length;
        for (const { job } of fired.jobs) this.deps.notifier.notify(job.type, job.runAt);
      }
    };
    const work = async () => {
      for (let batch = queue.splice(0, BATCH); batch.length > 0; batch = queue.splice(0, BATCH)) {
        try {
          await fire(batch);
        } catch (error) {
          if (batch.length === 1) {
            result.failures.push({ scheduleId: batch[0], error });
            continue;
          }
          // One bad schedule (e.g. its job type no longer declared) fails its whole batch: one by
          // one, the others still fire.
          for (const id of batch)
            await fire([id]).catch((err: unknown) =>
              result.failures.push({ scheduleId: id, error: err }),
            );
        }
      }
    };
    const workers = Math.min(CONCURRENCY, Math.ceil(queue.length / BATCH));
    await Promise.all(Array.from({ length: workers }, work));
    // After the firings (they moved their schedules' dueAt on), on the runtime's clock.
    const next = ids.length === input.limit ? now : await this.deps.schedules.nextDueAt();
    result.nextDueInMs = next ? next.getTime() - this.deps.runtime.now().getTime() : null;
    return result;
  }

  /** The pure change a firing applies (null: not due any more, e.g. fired by another replica). */
  private change(schedule: Schedule, previous: Job | null, now: Date): FireTransition | null {
    if (schedule.paused || !schedule.dueAt || schedule.dueAt > now) return null;
    const plan = planTicks(
      schedule,
      previous ? { jobId: previous.id, state: previous.state } : null,
      now,
    );
    const jobs: Transition[] = plan.fire.map((tick) => {
      const job = scheduledJob(schedule, this.deps.types, tick, now);
      return { job, events: [{ type: 'JobCreated', job }] };
    });
    const cancelled =
      plan.cancel && previous
        ? cancel(previous, 'superseded by the next tick of its schedule', now)
        : null;
    return {
      schedule: appendRuns(
        plan.schedule,
        jobs.map(({ job }, i) => ({
          scheduledAt: plan.fire[i],
          jobId: job.id,
          firedAt: now,
          triggered: false,
        })),
      ),
      jobs,
      previous: cancelled,
    };
  }
}
