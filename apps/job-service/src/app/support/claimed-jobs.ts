import type { Job } from '../../domain/job';
import type { JobRepository } from '../ports/job.repository.port';

/** A claimed job as a worker receives it: its lease token and, for a flow's parent, its children. */
export interface ClaimedJob {
  job: Job;
  leaseToken: string;
  /** A flow parent's children with their states and results (oldest first); empty otherwise. */
  children: Job[];
}

/**
 * The claimed jobs with the children of those that are flow parents, read in one query after the
 * claim: a parent is claimable only once its children finished, so they no longer change.
 */
export async function claimedWithChildren(
  jobs: JobRepository,
  claimed: Job[],
): Promise<ClaimedJob[]> {
  const parents = claimed.filter((job) => job.childCount > 0).map((job) => job.id);
  const children = parents.length > 0 ? await jobs.listChildren(parents) : [];
  return claimed.map((job) => ({
    job,
    leaseToken: job.leaseToken,
    children: job.childCount > 0 ? children.filter((child) => child.parentId === job.id) : [],
  }));
}
