import { ValidationError } from '@trellis/platform/errors';
import { normalizeEmail } from '../domain/email-address';
import type { Suppression, SuppressionReason } from '../domain/suppression';
import type { NotificationDeps } from './deps';

/** Suppresses an address; an already suppressed one returns its existing suppression. */
export async function unsubscribe(
  deps: Pick<NotificationDeps, 'suppressions' | 'clock'>,
  input: { email: string; reason: SuppressionReason; comment: string },
): Promise<Suppression> {
  const email = normalizeEmail(input.email, 'email');
  if (input.comment.length > 512)
    throw ValidationError.field('comment', 'must be at most 512 characters');
  return deps.suppressions.insertIfAbsent({
    email,
    reason: input.reason,
    comment: input.comment,
    createdAt: deps.clock(),
  });
}
