import type { Job, Transition } from '../../domain/job';
import type { Schedule } from '../../domain/schedule';

/** What one firing of a schedule writes, all in one transaction. */
export interface FireTransition {
  schedule: Schedule;
  /** New jobs (idempotency key = the tick's identity) with their events. */
  jobs: Transition[];
  /** The previous job's change (CANCEL_PREVIOUS), if any. */
  previous: Transition | null;
}

/** Where schedules live. Every write is conditional on the version it read. */
export interface ScheduleRepository {
  /** Inserts a new schedule; ALREADY_EXISTS when its id is taken. */
  create(schedule: Schedule): Promise<Schedule>;
  findById(id: string): Promise<Schedule | null>;
  /** Schedules by id (ascending), after `afterId`. */
  list(afterId: string | null, limit: number): Promise<Schedule[]>;
  /** Loads, applies `change` (pure) and saves; reruns `change` on a concurrent write. NotFound when missing. */
  update(id: string, change: (schedule: Schedule) => Schedule): Promise<Schedule>;
  delete(id: string): Promise<boolean>;
  /** Ids of unpaused schedules due at `now` (dueAt ≤ now), soonest first. */
  findDue(now: Date, limit: number): Promise<string[]>;
  /** The earliest dueAt of an unpaused schedule (null: none), so a ticker can sleep until then. */
  nextDueAt(): Promise<Date | null>;
  /**
   * Loads the schedule and its previous job, applies `change` and writes the new jobs, their
   * events, the previous job's change and the schedule in ONE transaction, conditional on the
   * schedule's version. Null when the schedule is gone, or another writer (replica) changed it
   * first — that writer did this work.
   */
  fire(
    id: string,
    change: (schedule: Schedule, previous: Job | null) => FireTransition | null,
  ): Promise<FireTransition | null>;
  /** `fire` of several schedules, in one transaction when none of them is contended. */
  fireMany(
    ids: string[],
    change: (schedule: Schedule, previous: Job | null) => FireTransition | null,
  ): Promise<Array<FireTransition | null>>;
  /** The current states of jobs (for the last runs of GetSchedule). */
  jobStates(ids: string[]): Promise<Map<string, Job['state']>>;
}
