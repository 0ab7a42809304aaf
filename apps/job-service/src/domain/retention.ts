import type { JobState } from './job';

/** The states a job ends in; only jobs in them are ever removed. */
export type TerminalState = 'SUCCEEDED' | 'DEAD' | 'CANCELLED';

export const TERMINAL_STATES: readonly TerminalState[] = ['SUCCEEDED', 'DEAD', 'CANCELLED'];

/** Any state not listed (PENDING, RUNNING, or one added later) counts as not terminal. */
export function isTerminal(state: string): state is TerminalState {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

/** How long jobs of one terminal state are kept: the first limit reached removes a job. */
export interface RetentionRule {
  /** A job is removed once it finished longer ago than this (0: at the next pass). */
  maxAgeMs: number;
  /** At most this many jobs of the state are kept per type: the newest (by finish time). */
  maxCount: number;
}

/** A job type's retention: a rule, or parts of one, per terminal state; unset parts: the default. */
export type JobRetention = Partial<Record<TerminalState, Partial<RetentionRule>>>;

export type EffectiveRetention = Record<TerminalState, RetentionRule>;

const DAY_MS = 24 * 3600 * 1000;

/**
 * The service-wide default (JOB_RETENTION): bounded by age and by count for every type, so the
 * collection stays bounded under steady load even for types that say nothing. SUCCEEDED jobs are
 * kept a day (pg-boss keeps completed jobs 12 h before archiving them; BullMQ keeps them forever
 * unless told otherwise, its most asked-about default); dead letters two weeks, for someone to
 * look at them and RetryJob; cancelled ones a week.
 */
export const DEFAULT_RETENTION: EffectiveRetention = {
  SUCCEEDED: { maxAgeMs: DAY_MS, maxCount: 10_000 },
  DEAD: { maxAgeMs: 14 * DAY_MS, maxCount: 100_000 },
  CANCELLED: { maxAgeMs: 7 * DAY_MS, maxCount: 10_000 },
};

/** The type's rules with the default filling whatever it leaves unset. */
export function effectiveRetention(
  type: JobRetention | undefined,
  defaults: EffectiveRetention,
): EffectiveRetention {
  const rule = (state: TerminalState): RetentionRule => ({
    maxAgeMs: type?.[state]?.maxAgeMs ?? defaults[state].maxAgeMs,
    maxCount: type?.[state]?.maxCount ?? defaults[state].maxCount,
  });
  return { SUCCEEDED: rule('SUCCEEDED'), DEAD: rule('DEAD'), CANCELLED: rule('CANCELLED') };
}

/**
 * Whether a finished job may be removed, given its parent's state (null: no parent, or the parent
 * is gone): never while a parent that is not terminal still waits on it (flows).
 */
export function mayRemove(parentState: JobState | string | null): boolean {
  return parentState === null || isTerminal(parentState);
}
