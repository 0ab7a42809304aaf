import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { PreconditionFailedError } from '@trellis/platform/errors';
import type { JobState, JsonObject } from './job';

/** What missed ticks (due before now by more than the grace, e.g. after downtime) turn into. */
export type CatchUpPolicy = 'SKIP' | 'RUN_ONCE' | 'RUN_EACH';
/** What a tick does while the schedule's previous job is still PENDING or RUNNING. */
export type OverlapPolicy = 'SKIP' | 'BUFFER_ONE' | 'ALLOW_ALL' | 'CANCEL_PREVIOUS';

/** The job every tick creates. 0 / undefined fields take the job type's defaults. */
export interface JobTemplate {
  type: string;
  payload: JsonObject;
  priority: number;
  maxAttempts: number;
  leaseDurationMs?: number;
}

/** When a schedule ticks: a cron expression in an IANA time zone, or a fixed interval. */
export type Timing =
  { kind: 'cron'; cron: string; timeZone: string } | { kind: 'interval'; intervalMs: number };

/** What a caller defines (CreateSchedule, UpdateSchedule). */
export interface ScheduleDefinition {
  template: JobTemplate;
  timing: Timing;
  /** No tick before (interval ticks count from here; default: creation). */
  startAt: Date | null;
  /** No tick after. */
  endAt: Date | null;
  /** Each job's run_at is its tick plus a deterministic delay in [0, jitterMs). */
  jitterMs: number;
  catchUp: CatchUpPolicy;
  /** RUN_EACH: the most recent missed ticks run, at most this many. */
  maxCatchUpRuns: number;
  overlap: OverlapPolicy;
}

/** One job a schedule created (newest first in `lastRuns`). */
export interface ScheduleRun {
  scheduledAt: Date;
  jobId: string;
  firedAt: Date;
  /** TriggerSchedule, not a tick. */
  triggered: boolean;
}

export interface Schedule {
  id: string;
  definition: ScheduleDefinition;
  paused: boolean;
  /** The next tick not yet handled; null when the schedule has ended. */
  nextTickAt: Date | null;
  /** BUFFER_ONE: a tick held back until the previous job ends. */
  bufferedTickAt: Date | null;
  /** When a ticker should look at it next (indexed): the next tick, or sooner for a buffered one. */
  dueAt: Date | null;
  lastRuns: ScheduleRun[];
  /** Incremented by every write; a write is conditional on the version it read. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** How many runs a schedule remembers. */
export const LAST_RUNS_KEPT = 10;
/** A tick this much older than now counts as missed (the catch-up policy decides). */
export const TICK_GRACE_MS = 60_000;
/** How often a buffered tick re-checks whether the previous job ended. */
export const BUFFER_RECHECK_MS = 1_000;

/** A job state that counts as "still running" for the overlap policy. */
export function isActive(state: JobState): boolean {
  return state === 'PENDING' || state === 'RUNNING';
}

/** The cron of a definition, parsed (croner); throws on a bad expression or time zone. */
function cronOf(timing: Extract<Timing, { kind: 'cron' }>): Cron {
  return new Cron(timing.cron, { timezone: timing.timeZone, paused: true });
}

/** Whether `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** Why a cron expression is refused, or null (croner's own message). */
export function cronProblem(cron: string): string | null {
  // croner also takes a 7th (year) field and nicknames; the contract promises 5 or 6 fields.
  const fields = cron.trim().split(/\s+/).length;
  if (fields !== 5 && fields !== 6) return 'must have 5 fields, or 6 with seconds first';
  try {
    // A valid pattern that matches no date (e.g. 31 February) would never tick.
    if (new Cron(cron, { paused: true }).nextRun() === null) return 'it matches no time';
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** The first tick strictly after `after` (and not before startAt), or null past endAt. */
export function tickAfter(def: ScheduleDefinition, after: Date, createdAt: Date): Date | null {
  let next: Date | null;
  const from = def.startAt && def.startAt.getTime() > after.getTime() ? def.startAt : null;
  if (def.timing.kind === 'interval') {
    const origin = (def.startAt ?? createdAt).getTime();
    const step = def.timing.intervalMs;
    const k = Math.max(0, Math.floor((after.getTime() - origin) / step) + 1);
    next = new Date(origin + k * step);
  } else {
    // A start in the future counts as "just before start", so a tick at startAt itself is kept.
    next = cronOf(def.timing).nextRun(from ? new Date(from.getTime() - 1) : after);
  }
  if (next && def.endAt && next.getTime() > def.endAt.getTime()) return null;
  return next;
}

/** The next `n` ticks from `first` on (first included). */
export function ticksFrom(
  def: ScheduleDefinition,
  first: Date | null,
  n: number,
  createdAt: Date,
): Date[] {
  const ticks: Date[] = [];
  let tick = first;
  while (tick && ticks.length < n) {
    ticks.push(tick);
    tick = tickAfter(def, tick, createdAt);
  }
  return ticks;
}

/** A new schedule: its first tick is the first one after `now` (or at startAt). */
export function newSchedule(
  id: string,
  definition: ScheduleDefinition,
  paused: boolean,
  now: Date,
): Schedule {
  const nextTickAt = tickAfter(definition, new Date(now.getTime() - 1), now);
  return {
    id,
    definition,
    paused,
    nextTickAt,
    bufferedTickAt: null,
    dueAt: nextTickAt,
    lastRuns: [],
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

/** UpdateSchedule: the new definition; ticks restart from now, runs and pause state are kept. */
export function redefine(schedule: Schedule, definition: ScheduleDefinition, now: Date): Schedule {
  const nextTickAt = tickAfter(definition, new Date(now.getTime() - 1), schedule.createdAt);
  return {
    ...schedule,
    definition,
    nextTickAt,
    bufferedTickAt: null,
    dueAt: nextTickAt,
    updatedAt: now,
  };
}

export function pause(schedule: Schedule, now: Date): Schedule {
  return schedule.paused ? schedule : { ...schedule, paused: true, updatedAt: now };
}

/** Ticks that fell into the pause are skipped: the next one is the first after now. */
export function resume(schedule: Schedule, now: Date): Schedule {
  if (!schedule.paused) return schedule;
  const nextTickAt = tickAfter(
    schedule.definition,
    new Date(now.getTime() - 1),
    schedule.createdAt,
  );
  return {
    ...schedule,
    paused: false,
    nextTickAt,
    bufferedTickAt: null,
    dueAt: nextTickAt,
    updatedAt: now,
  };
}

/**
 * The delay in [0, jitterMs) added to a tick's run_at: a hash of schedule and tick, so every
 * replica (and a rerun transaction) computes the same job.
 */
export function jitterOf(scheduleId: string, tick: Date, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  const digest = createHash('sha256').update(`${scheduleId}@${tick.toISOString()}`).digest();
  return digest.readUInt32BE(0) % Math.floor(jitterMs);
}

/** The idempotency key of a tick's job: the tick's identity. */
export function tickKey(scheduleId: string, tick: Date): string {
  return `schedule:${scheduleId}:${tick.toISOString()}`;
}

/** The previous job of a schedule as the overlap policy sees it. */
export interface PreviousRun {
  jobId: string;
  state: JobState;
}

/** What handling the due ticks decided; the caller creates the jobs (in the same transaction). */
export interface TickPlan {
  schedule: Schedule;
  /** Ticks that create a job now, oldest first. */
  fire: Date[];
  /** CANCEL_PREVIOUS: the previous job to cancel before the first new one. */
  cancel: string | null;
  /**
   * Ticks dropped among those looked at (the overlap policy's, and the missed one of SKIP); older
   * missed ticks are passed over without being listed.
   */
  skipped: Date[];
}

/**
 * The latest `keep` ticks due at `now` (from nextTickAt on), oldest first. Found backwards from
 * now (croner's previousRuns, interval arithmetic), so a long downtime costs no enumeration.
 */
function latestDueTicks(schedule: Schedule, now: Date, keep: number): Date[] {
  const first = schedule.nextTickAt;
  if (!first || first.getTime() > now.getTime()) return [];
  const def = schedule.definition;
  const until = Math.min(now.getTime(), def.endAt?.getTime() ?? Number.MAX_VALUE);
  let latest: Date[];
  if (def.timing.kind === 'interval') {
    const origin = (def.startAt ?? schedule.createdAt).getTime();
    const step = def.timing.intervalMs;
    const last = Math.floor((until - origin) / step);
    latest = [];
    for (let k = last; k > last - keep && k >= 0; k--) latest.push(new Date(origin + k * step));
  } else {
    // previousRuns leaves the reference out: one millisecond on keeps a tick at `until`.
    latest = cronOf(def.timing).previousRuns(keep, new Date(until + 1));
  }
  return latest.filter((t) => t.getTime() >= first.getTime()).reverse();
}

/**
 * Handles what is due at `now`: the ticks from nextTickAt up to now (catch-up policy: missed ticks
 * — older than TICK_GRACE_MS — are dropped (SKIP), folded into the latest (RUN_ONCE) or each run,
 * the latest `maxCatchUpRuns` due (RUN_EACH)), then the overlap policy against the previous job, and
 * a buffered tick whose previous job has ended. Pure; `appendRuns` records the created jobs.
 */
export function planTicks(schedule: Schedule, previous: PreviousRun | null, now: Date): TickPlan {
  const def = schedule.definition;
  const due = latestDueTicks(schedule, now, def.catchUp === 'RUN_EACH' ? def.maxCatchUpRuns : 1);
  // Everything up to now is handled: the next tick is the first after now.
  const nextTickAt = due.length > 0 ? tickAfter(def, now, schedule.createdAt) : schedule.nextTickAt;
  const onTime = due.filter((t) => now.getTime() - t.getTime() <= TICK_GRACE_MS);
  let candidates: Date[];
  switch (def.catchUp) {
    case 'SKIP':
      candidates = onTime;
      break;
    case 'RUN_ONCE':
    case 'RUN_EACH':
      candidates = due;
      break;
  }
  const skipped = due.filter((t) => !candidates.includes(t));
  const fire: Date[] = [];
  let cancel: string | null = null;
  let buffered = schedule.bufferedTickAt;
  let active = previous !== null && isActive(previous.state);
  if (buffered && !active) {
    fire.push(buffered);
    buffered = null;
    active = true;
  }
  for (const tick of candidates) {
    if (!active || def.overlap === 'ALLOW_ALL') {
      fire.push(tick);
    } else if (def.overlap === 'SKIP') {
      skipped.push(tick);
    } else if (def.overlap === 'BUFFER_ONE') {
      // One held back at most: a newer tick replaces an older buffered one.
      if (buffered) skipped.push(buffered);
      buffered = tick;
    } else {
      // CANCEL_PREVIOUS: the previous job (stored, or created in this plan) gives way.
      if (fire.length > 0) skipped.push(fire.pop()!);
      else if (previous) cancel = previous.jobId;
      fire.push(tick);
    }
    active = true;
  }
  const dueAt = buffered
    ? new Date(
        Math.min(now.getTime() + BUFFER_RECHECK_MS, nextTickAt?.getTime() ?? Number.MAX_VALUE),
      )
    : nextTickAt;
  return {
    schedule: { ...schedule, nextTickAt, bufferedTickAt: buffered, dueAt, updatedAt: now },
    fire,
    cancel,
    skipped,
  };
}

/** Records created jobs as the newest runs. */
export function appendRuns(schedule: Schedule, runs: ScheduleRun[]): Schedule {
  const newestFirst = [...runs].reverse();
  return { ...schedule, lastRuns: [...newestFirst, ...schedule.lastRuns].slice(0, LAST_RUNS_KEPT) };
}

/** TriggerSchedule on a schedule whose end has passed is refused. */
export function assertTriggerable(schedule: Schedule, now: Date): void {
  const end = schedule.definition.endAt;
  if (end && end.getTime() < now.getTime())
    throw new PreconditionFailedError(
      'JOB.SCHEDULE_ENDED',
      `schedule ${schedule.id} ended at ${end.toISOString()}`,
      { schedule_id: schedule.id },
    );
}
