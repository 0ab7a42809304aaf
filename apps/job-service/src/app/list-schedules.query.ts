import { decodePageToken, encodePageToken, validPageSize } from '@trellis/platform/errors';
import type { Schedule } from '../domain/schedule';
import type { ScheduleRepository } from './ports/schedule.repository.port';

/** The one scope of ListSchedules page tokens (it has no filters). */
const SCOPE = 'schedules';

function isIdKey(key: unknown): key is string {
  return typeof key === 'string';
}

export interface ListSchedulesDeps {
  schedules: ScheduleRepository;
}

export class ListSchedules {
  constructor(private readonly deps: ListSchedulesDeps) {}

  async execute(input: {
    pageSize: number;
    pageToken: string;
  }): Promise<{ schedules: Schedule[]; nextPageToken: string }> {
    const pageSize = validPageSize('page_size', input.pageSize);
    const after = decodePageToken(input.pageToken, SCOPE, { isKey: isIdKey }) ?? null;
    const rows = await this.deps.schedules.list(after, pageSize + 1);
    const schedules = rows.slice(0, pageSize);
    const nextPageToken =
      rows.length > pageSize ? encodePageToken(schedules[schedules.length - 1].id, SCOPE) : '';
    return { schedules, nextPageToken };
  }
}
