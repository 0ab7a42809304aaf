import type { JobTypeRegistry } from '../domain/job-type';
import { redefine, type Schedule } from '../domain/schedule';
import type { ScheduleRepository } from './ports/schedule.repository.port';
import type { Runtime } from './ports/runtime.port';
import {
  parseDefinition,
  requireScheduleId,
  type ScheduleDefinitionInput,
} from './support/schedule-input';

export interface UpdateScheduleDeps {
  schedules: ScheduleRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
}

export class UpdateSchedule {
  constructor(private readonly deps: UpdateScheduleDeps) {}

  async execute(input: {
    scheduleId: string;
    definition: ScheduleDefinitionInput | undefined;
  }): Promise<Schedule> {
    const id = requireScheduleId(input.scheduleId);
    const definition = parseDefinition(input.definition, this.deps.types);
    return this.deps.schedules.update(id, (schedule) =>
      redefine(schedule, definition, this.deps.runtime.now()),
    );
  }
}
