import { randomUUID } from 'node:crypto';
import { requestHash, ValidationError, type FieldViolation } from '@trellis/platform/errors';
import { newJob, type Job, type JsonObject } from '../../domain/job';
import type { JobTypeRegistry } from '../../domain/job-type';
import {
  cronProblem,
  isTimeZone,
  jitterOf,
  tickKey,
  type CatchUpPolicy,
  type OverlapPolicy,
  type Schedule,
  type ScheduleDefinition,
} from '../../domain/schedule';
import { jobOptionProblems } from './job-options';

/** A schedule definition as the handler hands it over (unset proto fields undefined). */
export interface ScheduleDefinitionInput {
  template?: {
    type: string;
    payload: JsonObject | undefined;
    priority: number;
    maxAttempts: number;
    leaseDurationMs?: number;
  };
  cron: string;
  timeZone: string;
  intervalMs?: number;
  startAt?: Date;
  endAt?: Date;
  jitterMs?: number;
  catchUp?: CatchUpPolicy;
  maxCatchUpRuns: number;
  overlap?: OverlapPolicy;
}

const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 366 * 24 * 3600_000;
const MIN_TIME_MS = Date.parse('0001-01-01T00:00:00Z');
const MAX_TIME_MS = Date.parse('9999-12-31T23:59:59.999Z');
const MAX_JITTER_MS = 3_600_000;
const DEFAULT_CATCH_UP_RUNS = 10;

/** A schedule id is 1-64 of [A-Za-z0-9._-]; anything else is INVALID_ARGUMENT, never NOT_FOUND. */
export function requireScheduleId(id: string, field = 'schedule_id'): string {
  if (id === '') throw ValidationError.field(field, 'is required');
  if (!SCHEDULE_ID.test(id))
    throw ValidationError.field(
      field,
      'must be 1-64 of [A-Za-z0-9._-], starting with a letter or digit',
    );
  return id;
}

/** Validates a definition at the edge, naming `definition.<field>`; returns the domain value. */
export function parseDefinition(
  input: ScheduleDefinitionInput | undefined,
  types: JobTypeRegistry,
): ScheduleDefinition {
  const at = (field: string) => `definition.${field}`;
  if (!input) throw ValidationError.field('definition', 'is required');
  const { template } = input;
  if (!template) throw ValidationError.field(at('template'), 'is required');
  if (template.type === '') throw ValidationError.field(at('template.type'), 'is required');
  const type = types.get(template.type, at('template.type'));
  const violations: FieldViolation[] = [];
  const bad = (field: string, description: string) =>
    violations.push({ field: at(field), description });
  for (const [field, description] of jobOptionProblems(template))
    bad(`template.${field}`, description);
  let timing: ScheduleDefinition['timing'] | undefined;
  if (input.cron !== '' && input.intervalMs !== undefined) {
    bad('interval', 'give either cron or interval, not both');
  } else if (input.cron !== '') {
    const timeZone = input.timeZone === '' ? 'UTC' : input.timeZone;
    const problem = cronProblem(input.cron);
    if (problem) bad('cron', `is not a cron expression: ${problem}`);
    if (!isTimeZone(timeZone))
      bad('time_zone', `is not an IANA time zone: ${JSON.stringify(timeZone)}`);
    timing = { kind: 'cron', cron: input.cron, timeZone };
  } else if (input.intervalMs !== undefined) {
    if (input.timeZone !== '') bad('time_zone', 'applies to cron only');
    if (input.intervalMs < MIN_INTERVAL_MS || input.intervalMs > MAX_INTERVAL_MS)
      bad('interval', 'must be between 1 s and 366 days');
    timing = { kind: 'interval', intervalMs: input.intervalMs };
  } else {
    bad('cron', 'either cron or interval is required');
  }
  // Timestamps outside proto's range (years 1-9999; beyond a Date's, an invalid Date) are refused.
  for (const [field, value] of [
    ['start_at', input.startAt],
    ['end_at', input.endAt],
  ] as const)
    if (value && !(value.getTime() >= MIN_TIME_MS && value.getTime() <= MAX_TIME_MS))
      bad(field, 'must be between the years 1 and 9999');
  if (input.startAt && input.endAt && input.endAt <= input.startAt)
    bad('end_at', 'must be after start_at');
  const jitterMs = input.jitterMs ?? 0;
  if (jitterMs < 0 || jitterMs > MAX_JITTER_MS) bad('jitter', 'must be between 0 and 1 h');
  if (input.maxCatchUpRuns < 0 || input.maxCatchUpRuns > 1000)
    bad('max_catch_up_runs', 'must be between 1 and 1000 (0 = 10)');
  if (violations.length > 0) throw new ValidationError(violations);
  const payload = template.payload ?? {};
  try {
    types.validatePayload(type.name, payload);
  } catch (err) {
    throw err instanceof ValidationError ? err.within(at('template')) : err;
  }
  return {
    template: {
      type: type.name,
      payload,
      priority: template.priority,
      maxAttempts: template.maxAttempts,
      leaseDurationMs: template.leaseDurationMs,
    },
    timing: timing!,
    startAt: input.startAt ?? null,
    endAt: input.endAt ?? null,
    jitterMs,
    catchUp: input.catchUp ?? 'RUN_ONCE',
    maxCatchUpRuns: input.maxCatchUpRuns || DEFAULT_CATCH_UP_RUNS,
    overlap: input.overlap ?? 'SKIP',
  };
}

/**
 * The job a schedule creates for `tick` (its run_at: the tick plus the schedule's jitter), or for
 * a trigger at `now`. The idempotency key is the tick's identity, so a tick's job exists once.
 */
export function scheduledJob(
  schedule: Schedule,
  types: JobTypeRegistry,
  tick: Date,
  now: Date,
  triggered = false,
): Job {
  const { template, jitterMs } = schedule.definition;
  const type = types.get(template.type, 'definition.template.type');
  const runAt = triggered ? now : new Date(tick.getTime() + jitterOf(schedule.id, tick, jitterMs));
  return newJob(
    {
      id: randomUUID(),
      type: type.name,
      payload: template.payload,
      priority: template.priority,
      runAt,
      maxAttempts: template.maxAttempts || type.defaultMaxAttempts,
      backoff: type.defaultBackoff,
      leaseDurationMs: template.leaseDurationMs ?? type.defaultLeaseMs,
      idempotencyKey: triggered
        ? `${tickKey(schedule.id, tick)}:trigger`
        : tickKey(schedule.id, tick),
      requestHash: requestHash([type.name, template.payload]),
    },
    now,
  );
}
