import { pause, type Schedule } from '../domain/schedule';
import type { ScheduleRepository } from './ports/schedule.repository.port';
import type { Runtime } from './ports/runtime.port';
import { requireScheduleId } from './support/schedule-input';

export interface PauseScheduleDeps {
  schedules: ScheduleRepository;
  runtime: Runtime;
}

export class PauseSchedule {
  constructor(private readonly deps: PauseScheduleDeps) {}

  async execute(input: { scheduleId: string }): Promise<Schedule> {
    const id = requireScheduleId(input.scheduleId);
    return this.deps.schedules.update(id, (s) => pause(s, this.deps.runtime.now()));
  }
}
