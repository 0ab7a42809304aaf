/** What CreateJob and a schedule's job template both choose for a job. */
export interface JobOptions {
  payload: unknown;
  priority: number;
  /** 0 = the type's default. */
  maxAttempts: number;
  leaseDurationMs?: number;
}

/** The [field, description] of each invalid option (fields in proto naming, unprefixed). */
export function jobOptionProblems(options: JobOptions): Array<[string, string]> {
  const problems: Array<[string, string]> = [];
  if (options.payload === undefined) problems.push(['payload', 'is required']);
  if (!Number.isInteger(options.priority) || options.priority < -1000 || options.priority > 1000)
    problems.push(['priority', 'must be between -1000 and 1000']);
  if (options.maxAttempts < 0 || options.maxAttempts > 100)
    problems.push(['max_attempts', 'must be between 1 and 100 (0 = the type default)']);
  if (
    options.leaseDurationMs !== undefined &&
    (options.leaseDurationMs < 1000 || options.leaseDurationMs > 3_600_000)
  )
    problems.push(['lease_duration', 'must be between 1 s and 1 h']);
  return problems;
}
