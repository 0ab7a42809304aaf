import type { ChildFailurePolicy, Job, JobError, JobState, Transition } from './job';

/**
 * Flows (CreateFlow): a parent job waits in WAITING_CHILDREN until each of its children has
 * finished, then becomes PENDING. These are the pure transitions of a parent as its children end
 * (or are revived); the repository applies them in the transaction that changes the child, so no
 * separate step can be lost in a crash.
 */

/** Children one job may have, levels below a flow's root, and jobs in one flow. */
export const MAX_FLOW_CHILDREN = 100;
export const MAX_FLOW_DEPTH = 5;
export const MAX_FLOW_JOBS = 1000;

/** SUCCEEDED, DEAD and CANCELLED: the job will not run again unless RetryJob revives it. */
export function isFinished(state: JobState): boolean {
  return state === 'SUCCEEDED' || state === 'DEAD' || state === 'CANCELLED';
}

/** A new job made the parent of `childCount` children: it waits for them. */
export function awaitChildren(job: Job, childCount: number, policy: ChildFailurePolicy): Job {
  if (childCount === 0) return { ...job, onChildFailure: policy };
  return {
    ...job,
    state: 'WAITING_CHILDREN',
    childCount,
    pendingChildren: childCount,
    onChildFailure: policy,
  };
}

/** A new job made a child of `parentId`. */
export function childOf(job: Job, parentId: string): Job {
  return { ...job, parentId };
}

/** The error a parent ends DEAD with when a child failed under FAIL_PARENT. */
function childFailure(parent: Job, child: Job, now: Date): JobError {
  return {
    message: `child job ${child.id} (${child.type}) ended ${child.state}`,
    code: 'CHILD_FAILED',
    retryable: false,
    attempt: parent.attempts,
    occurredAt: now,
  };
}

/**
 * `child` just finished. A parent no longer WAITING_CHILDREN (cancelled, or failed by another
 * child) does not change. A SUCCEEDED child, or a failed one under IGNORE, counts as done: the
 * last one makes the parent PENDING, due at its run_at or now. A failed child under FAIL_PARENT
 * makes the parent DEAD (the repository then cancels its other unfinished children).
 */
export function childFinished(parent: Job, child: Job, now: Date): Transition {
  if (parent.state !== 'WAITING_CHILDREN' || !isFinished(child.state))
    return { job: parent, events: [] };
  if (child.state !== 'SUCCEEDED' && parent.onChildFailure === 'FAIL_PARENT') {
    const error = childFailure(parent, child, now);
    const next: Job = {
      ...parent,
      state: 'DEAD',
      pendingChildren: Math.max(0, parent.pendingChildren - 1),
      lastError: error,
      finishedAt: now,
      updatedAt: now,
    };
    return {
      job: next,
      events: [
        { type: 'JobFailed', job: next, error, willRetry: false, nextRunAt: null },
        { type: 'JobDeadLettered', job: next },
      ],
    };
  }
  const pendingChildren = Math.max(0, parent.pendingChildren - 1);
  if (pendingChildren > 0)
    return { job: { ...parent, pendingChildren, updatedAt: now }, events: [] };
  const next: Job = {
    ...parent,
    state: 'PENDING',
    pendingChildren,
    runAt: parent.runAt > now ? parent.runAt : now,
    updatedAt: now,
  };
  return { job: next, events: [{ type: 'JobChildrenCompleted', job: next }] };
}

/**
 * A finished child was revived (RetryJob of a child that failed under IGNORE) while its parent
 * still waits: the parent waits for it again. A parent that stopped waiting does not change (it
 * ran or ended without this child; the child now runs on its own).
 */
export function childReopened(parent: Job, now: Date): Transition {
  if (parent.state !== 'WAITING_CHILDREN') return { job: parent, events: [] };
  return {
    job: { ...parent, pendingChildren: parent.pendingChildren + 1, updatedAt: now },
    events: [],
  };
}

/** The reason an unfinished child is cancelled with when its parent ended without running. */
export function parentEndedReason(parent: Job): string {
  return `parent job ${parent.id} ended ${parent.state}`;
}
