import { createHash } from 'node:crypto';
import {
  type NewNotification,
  notificationIdFor,
  queue,
  type Transition,
} from '../../domain/notification';

/** The id of the notification a dedupe key stands for. */
export function notificationIdOf(dedupeKey: string): string {
  return notificationIdFor(dedupeKey, (text) => createHash('sha256').update(text).digest());
}

/**
 * One new notification per spec (id from its dedupe key), QUEUED with its EmailRequested, or
 * SUPPRESSED when the recipient is among `suppressed` (the address) or `optedOut` (of the specs'
 * category); the repository's `create` writes them.
 */
export function queueTransitions(
  specs: Array<Omit<NewNotification, 'id'>>,
  suppressed: Set<string>,
  messageIdDomain: string,
  now: Date,
  optedOut: Set<string> = new Set(),
): Transition[] {
  return specs.map((spec) =>
    queue(
      { ...spec, id: notificationIdOf(spec.dedupeKey) },
      suppressed.has(spec.recipient)
        ? 'address'
        : optedOut.has(spec.recipient)
          ? 'category'
          : false,
      messageIdDomain,
      now,
    ),
  );
}
