import { randomUUID } from 'node:crypto';
import type { JobTypeRegistry } from '../domain/job-type';
import { newSchedule, type Schedule } from '../domain/schedule';
import type { ScheduleRepository } from './ports/schedule.repository.port';
import type { Runtime } from './ports/runtime.port';
import {
  parseDefinition,
  requireScheduleId,
  type ScheduleDefinitionInput,
} from './support/schedule-input';

export interface CreateScheduleInput {
  /** Empty: a new UUID. */
  scheduleId: string;
  definition: ScheduleDefinitionInput | undefined;
  paused: boolean;
}

export interface CreateScheduleDeps {
  schedules: ScheduleRepository;
  types: JobTypeRegistry;
  runtime: Runtime;
}

export class CreateSchedule {
  constructor(private readonly deps: CreateScheduleDeps) {}

  async execute(input: CreateScheduleInput): Promise<Schedule> {
    const id = input.scheduleId === '' ? randomUUID() : requireScheduleId(input.scheduleId);
    const definition = parseDefinition(input.definition, this.deps.types);
    return this.deps.schedules.create(
      newSchedule(id, definition, input.paused, this.deps.runtime.now()),
    );
  }
}
