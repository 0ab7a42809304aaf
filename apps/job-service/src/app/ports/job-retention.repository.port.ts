import type { TerminalState } from '../../domain/retention';

/**
 * Which finished jobs of one type and state retention removes: those that finished at or before
 * `finishedAtOrBefore` (the age rule), and all but the `keepNewest` newest (the count rule).
 */
export interface RetentionCut {
  type: string;
  state: TerminalState;
  finishedAtOrBefore: Date;
  keepNewest: number;
}

/** Removal of finished jobs (retention): the only way a job ever leaves the store. */
export interface JobRetentionRepository {
  /**
   * Removes up to `limit` of the jobs `cut` selects, oldest first, each with its log, never one
   * whose parent exists and is not terminal (domain/retention.ts `mayRemove`; such a job is kept
   * beyond both limits). Returns how many were removed; fewer than `limit`: none are left.
   */
  removeFinished(cut: RetentionCut, limit: number): Promise<number>;
}
