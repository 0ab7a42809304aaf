/** Exponential backoff between attempts (trellis.job.v1.BackoffPolicy), all in milliseconds. */
export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  multiplier: number;
  /** Fraction in [0, 1]: the delay is drawn uniformly from [delay * (1 - jitter), delay]. */
  jitter: number;
}

export const MIN_INITIAL_DELAY_MS = 100;
export const MAX_DELAY_MS = 24 * 3600 * 1000;

export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 10 * 60_000,
  multiplier: 2,
  jitter: 0.2,
};

/**
 * The delay after failed attempt `attempt` (1-based): min(max, initial * multiplier^(attempt-1)),
 * then full jitter of `jitter` fraction. `random` is in [0, 1).
 */
export function backoffDelayMs(policy: BackoffPolicy, attempt: number, random: number): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = policy.initialDelayMs * Math.pow(policy.multiplier, exponent);
  const capped = Math.min(policy.maxDelayMs, Number.isFinite(raw) ? raw : policy.maxDelayMs);
  return Math.round(capped * (1 - policy.jitter * random));
}

/** Problems with a policy, as [field suffix, description] pairs (empty when valid). */
export function backoffProblems(policy: BackoffPolicy): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (!(policy.initialDelayMs >= MIN_INITIAL_DELAY_MS))
    problems.push(['initial_delay', 'must be at least 0.1 s']);
  if (!(policy.maxDelayMs >= policy.initialDelayMs))
    problems.push(['max_delay', 'must be at least initial_delay']);
  if (!(policy.maxDelayMs <= MAX_DELAY_MS)) problems.push(['max_delay', 'must be at most 24 h']);
  if (!(policy.multiplier >= 1) || !Number.isFinite(policy.multiplier))
    problems.push(['multiplier', 'must be at least 1.0']);
  if (!(policy.jitter >= 0 && policy.jitter <= 1))
    problems.push(['jitter', 'must be between 0 and 1']);
  return problems;
}
