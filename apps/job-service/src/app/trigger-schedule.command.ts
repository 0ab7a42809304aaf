import { AbortedError, NotFoundError } from '@trellis/platform/errors';
import type { Job } from '../domain/job';
import type { JobTypeRegistry } from '../domain/job-type';
import { appendRuns, assertTriggerable } from '../domain/schedule';
import type { ClaimNotifier } from './support/claim-notifier';
import type { ScheduleRepository } from './ports/schedule.repository.port';
import type { Runtime } from './ports/runtime.port';
import { requireScheduleId, scheduledJob } from './support/schedule-input';

export interface TriggerScheduleDeps {
  schedules: ScheduleRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
  notifier: ClaimNotifier;
}

/** Tries when a ticker writes the same schedule at the same moment. */
const ATTEMPTS = 5;

export class TriggerSchedule {
  constructor(private readonly deps: TriggerScheduleDeps) {}

  /** One job from the template now, outside the ticks; recorded among the last runs. */
  async execute(input: { scheduleId: string }): Promise<Job> {
    const id = requireScheduleId(input.scheduleId);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = this.deps.runtime.now();
      const fired = await this.deps.schedules.fire(id, (schedule) => {
        assertTriggerable(schedule, now);
        const job = scheduledJob(schedule, this.deps.types, now, now, true);
        return {
          schedule: appendRuns(schedule, [
            { scheduledAt: now, jobId: job.id, firedAt: now, triggered: true },
          ]),
          jobs: [{ job, events: [{ type: 'JobCreated', job }] }],
          previous: null,
        };
      });
      if (fired) {
        const { job } = fired.jobs[0];
        this.deps.notifier.notify(job.type, job.runAt);
        return job;
      }
      if (!(await this.deps.schedules.findById(id))) throw new NotFoundError('schedule', id);
    }
    throw new AbortedError('JOB.SCHEDULE_BUSY', `schedule ${id} changed concurrently; try again`, {
      schedule_id: id,
    });
  }
}
