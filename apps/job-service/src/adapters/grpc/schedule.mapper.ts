import { jobV1 } from '@trellis/contracts';
import { ValidationError } from '@trellis/platform/errors';
import type { CatchUpPolicy, OverlapPolicy, Schedule } from '../../domain/schedule';
import type { ScheduleView } from '../../app/get-schedule.query';
import type { ScheduleDefinitionInput } from '../../app/support/schedule-input';
import { fromDuration, toDuration } from '../proto-time';
import { STATE_TO_PROTO } from './job.mapper';

const CATCH_UP: Record<CatchUpPolicy, jobV1.CatchUpPolicy> = {
  SKIP: jobV1.CatchUpPolicy.CATCH_UP_POLICY_SKIP,
  RUN_ONCE: jobV1.CatchUpPolicy.CATCH_UP_POLICY_RUN_ONCE,
  RUN_EACH: jobV1.CatchUpPolicy.CATCH_UP_POLICY_RUN_EACH,
};

const OVERLAP: Record<OverlapPolicy, jobV1.OverlapPolicy> = {
  SKIP: jobV1.OverlapPolicy.OVERLAP_POLICY_SKIP,
  BUFFER_ONE: jobV1.OverlapPolicy.OVERLAP_POLICY_BUFFER_ONE,
  ALLOW_ALL: jobV1.OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
  CANCEL_PREVIOUS: jobV1.OverlapPolicy.OVERLAP_POLICY_CANCEL_PREVIOUS,
};

/** The domain value of a proto enum value; unspecified → undefined; unknown → INVALID_ARGUMENT. */
function enumFromProto<K extends string, V extends number>(
  table: Record<K, V>,
  value: V,
  field: string,
): K | undefined {
  if (value === 0) return undefined;
  const found = (Object.keys(table) as K[]).find((key) => table[key] === value);
  if (!found) throw ValidationError.field(field, 'is not one of the enum values');
  return found;
}

export function definitionInput(
  d: jobV1.ScheduleDefinition | undefined,
): ScheduleDefinitionInput | undefined {
  if (!d) return undefined;
  const t = d.template;
  return {
    template: t && {
      type: t.type,
      payload: t.payload,
      priority: t.priority,
      maxAttempts: t.maxAttempts,
      leaseDurationMs: t.leaseDuration ? fromDuration(t.leaseDuration) : undefined,
    },
    cron: d.cron,
    timeZone: d.timeZone,
    intervalMs: d.interval ? fromDuration(d.interval) : undefined,
    startAt: d.startAt,
    endAt: d.endAt,
    jitterMs: d.jitter ? fromDuration(d.jitter) : undefined,
    catchUp: enumFromProto(CATCH_UP, d.catchUpPolicy, 'definition.catch_up_policy'),
    maxCatchUpRuns: d.maxCatchUpRuns,
    overlap: enumFromProto(OVERLAP, d.overlapPolicy, 'definition.overlap_policy'),
  };
}

/** A schedule as trellis.job.v1.Schedule; `view` adds next run times and the runs' job states. */
export function toProtoSchedule(schedule: Schedule, view?: ScheduleView): jobV1.Schedule {
  const d = schedule.definition;
  return jobV1.Schedule.fromPartial({
    id: schedule.id,
    definition: {
      template: {
        type: d.template.type,
        payload: d.template.payload,
        priority: d.template.priority,
        maxAttempts: d.template.maxAttempts,
        leaseDuration:
          d.template.leaseDurationMs === undefined
            ? undefined
            : toDuration(d.template.leaseDurationMs),
      },
      cron: d.timing.kind === 'cron' ? d.timing.cron : '',
      timeZone: d.timing.kind === 'cron' ? d.timing.timeZone : '',
      interval: d.timing.kind === 'interval' ? toDuration(d.timing.intervalMs) : undefined,
      startAt: d.startAt ?? undefined,
      endAt: d.endAt ?? undefined,
      jitter: d.jitterMs > 0 ? toDuration(d.jitterMs) : undefined,
      catchUpPolicy: CATCH_UP[d.catchUp],
      maxCatchUpRuns: d.maxCatchUpRuns,
      overlapPolicy: OVERLAP[d.overlap],
    },
    paused: schedule.paused,
    nextRunAt: schedule.nextTickAt ?? undefined,
    nextRunTimes: view?.nextRunTimes ?? [],
    lastRuns: (view?.lastRuns ?? schedule.lastRuns.map((r) => ({ ...r, jobState: null }))).map(
      (run) => ({
        scheduledAt: run.scheduledAt,
        jobId: run.jobId,
        jobState: run.jobState
          ? STATE_TO_PROTO[run.jobState]
          : jobV1.JobState.JOB_STATE_UNSPECIFIED,
        firedAt: run.firedAt,
        triggered: run.triggered,
      }),
    ),
    version: BigInt(schedule.version),
    createdAt: schedule.createdAt,
    updatedAt: schedule.updatedAt,
  });
}
