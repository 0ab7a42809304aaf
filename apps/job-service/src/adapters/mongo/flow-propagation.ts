import type { ClientSession, Collection } from 'mongodb';
import type { OutboxMessage } from '@trellis/platform/mongo';
import { childFinished, childReopened, isFinished, parentEndedReason } from '../../domain/flow';
import { cancel, type Job, type JobState, type Transition } from '../../domain/job';
import type { JobDocument } from './job.repository';

/** The jobs of one change transaction: as read in it, as changed so far, and the events. */
export interface ChangeSet {
  /** Documents as read in the transaction (the base of each write). */
  stored: Map<string, JobDocument>;
  /** Each job's state after the changes applied so far. */
  current: Map<string, Job>;
  /** The jobs to write. */
  changed: Map<string, Job>;
  messages: OutboxMessage[];
}

/** States a child can be cancelled from when its parent ends without running. */
const UNFINISHED: JobState[] = ['PENDING', 'RUNNING', 'WAITING_CHILDREN'];

/**
 * Carries the changes of a transaction through their flows, in the same transaction: a child
 * that finished settles with its parent (domain/flow.ts: counts down, releases it to PENDING or
 * fails it), a revived one makes its waiting parent wait again, and a parent that ended while
 * WAITING_CHILDREN (cancelled, or failed by a child) cancels its unfinished children. Each such
 * change may cause the next (up and down the flow); it runs in waves until none does. A parent's
 * counter is written in the transaction of its child's change, so two siblings finishing in two
 * transactions (two replicas) conflict on the parent and one reruns: the count never skips.
 * `fromDocument` is passed in (not imported) to keep this file free of an import cycle.
 */
export async function propagateFlows(
  session: ClientSession,
  collection: Collection<JobDocument>,
  set: ChangeSet,
  messagesOf: (events: Transition['events']) => OutboxMessage[],
  fromDocument: (doc: JobDocument) => Job,
): Promise<void> {
  // The state each job was last settled with its parent in: at first the stored one.
  const settled = new Map<string, JobState>();
  const stateBefore = (id: string): JobState =>
    settled.get(id) ?? set.stored.get(id)?.state ?? set.current.get(id)!.state;
  const load = async (filter: Parameters<typeof collection.find>[0]) => {
    for (const doc of await collection.find(filter, { session }).toArray())
      if (!set.current.has(doc._id)) {
        set.stored.set(doc._id, doc);
        set.current.set(doc._id, fromDocument(doc));
      }
  };
  const apply = (before: Job, transition: Transition): boolean => {
    if (transition.job === before && transition.events.length === 0) return false;
    set.current.set(before.id, transition.job);
    set.changed.set(before.id, transition.job);
    set.messages.push(...messagesOf(transition.events));
    return true;
  };

  let wave = [...set.changed.keys()];
  while (wave.length > 0) {
    const parents = [...new Set(wave.flatMap((id) => set.current.get(id)?.parentId ?? []))].filter(
      (id) => !set.current.has(id),
    );
    if (parents.length > 0) await load({ _id: { $in: parents } });
    const next = new Set<string>();
    const endedWaiting: Job[] = [];
    for (const id of wave) {
      const job = set.current.get(id)!;
      const before = stateBefore(id);
      settled.set(id, job.state);
      if (before === job.state) continue;
      const parent = job.parentId === null ? undefined : set.current.get(job.parentId);
      if (parent) {
        const now = job.updatedAt;
        const transition =
          !isFinished(before) && isFinished(job.state)
            ? childFinished(parent, job, now)
            : isFinished(before) && !isFinished(job.state)
              ? childReopened(parent, now)
              : { job: parent, events: [] };
        if (apply(parent, transition)) next.add(parent.id);
      }
      if (before === 'WAITING_CHILDREN' && (job.state === 'DEAD' || job.state === 'CANCELLED'))
        endedWaiting.push(job);
    }
    if (endedWaiting.length > 0) {
      const ids = endedWaiting.map((job) => job.id);
      await load({ parent_id: { $in: ids }, state: { $in: UNFINISHED } });
      const byParent = new Map(endedWaiting.map((job) => [job.id, job]));
      for (const child of set.current.values()) {
        const parent = child.parentId === null ? undefined : byParent.get(child.parentId);
        if (!parent || !UNFINISHED.includes(child.state)) continue;
        if (apply(child, cancel(child, parentEndedReason(parent), parent.updatedAt)))
          next.add(child.id);
      }
    }
    wave = [...next];
  }
}
