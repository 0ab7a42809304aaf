import { resume, type Schedule } from '../domain/schedule';
import type { ScheduleRepository } from './ports/schedule.repository.port';
import type { Runtime } from './ports/runtime.port';
import { requireScheduleId } from './support/schedule-input';

export interface ResumeScheduleDeps {
  schedules: ScheduleRepository;
  runtime: Runtime;
}

export class ResumeSchedule {
  constructor(private readonly deps: ResumeScheduleDeps) {}

  async execute(input: { scheduleId: string }): Promise<Schedule> {
    const id = requireScheduleId(input.scheduleId);
    return this.deps.schedules.update(id, (s) => resume(s, this.deps.runtime.now()));
  }
}
