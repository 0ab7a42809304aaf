import { NotFoundError, ValidationError } from '@trellis/platform/errors';
import type { JobState } from '../domain/job';
import { ticksFrom, type Schedule, type ScheduleRun } from '../domain/schedule';
import type { ScheduleRepository } from './ports/schedule.repository.port';
import { requireScheduleId } from './support/schedule-input';

export interface ScheduleView {
  schedule: Schedule;
  nextRunTimes: Date[];
  /** The last runs with their jobs' current states (null: the job is gone). */
  lastRuns: Array<ScheduleRun & { jobState: JobState | null }>;
}

export interface GetScheduleDeps {
  schedules: ScheduleRepository;
}

const DEFAULT_NEXT_RUNS = 5;

export class GetSchedule {
  constructor(private readonly deps: GetScheduleDeps) {}

  async execute(input: { scheduleId: string; nextRunCount: number }): Promise<ScheduleView> {
    const id = requireScheduleId(input.scheduleId);
    if (input.nextRunCount < 0 || input.nextRunCount > 100)
      throw ValidationError.field('next_run_count', 'must be between 0 and 100 (0 = 5)');
    const schedule = await this.deps.schedules.findById(id);
    if (!schedule) throw new NotFoundError('schedule', id);
    const states = await this.deps.schedules.jobStates(schedule.lastRuns.map((r) => r.jobId));
    return {
      schedule,
      nextRunTimes: schedule.paused
        ? []
        : ticksFrom(
            schedule.definition,
            schedule.nextTickAt,
            input.nextRunCount || DEFAULT_NEXT_RUNS,
            schedule.createdAt,
          ),
      lastRuns: schedule.lastRuns.map((r) => ({ ...r, jobState: states.get(r.jobId) ?? null })),
    };
  }
}
