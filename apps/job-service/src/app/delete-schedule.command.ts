import { NotFoundError } from '@trellis/platform/errors';
import type { ScheduleRepository } from './ports/schedule.repository.port';
import { requireScheduleId } from './support/schedule-input';

export interface DeleteScheduleDeps {
  schedules: ScheduleRepository;
}

export class DeleteSchedule {
  constructor(private readonly deps: DeleteScheduleDeps) {}

  async execute(input: { scheduleId: string }): Promise<void> {
    const id = requireScheduleId(input.scheduleId);
    if (!(await this.deps.schedules.delete(id))) throw new NotFoundError('schedule', id);
  }
}
