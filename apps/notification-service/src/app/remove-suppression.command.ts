import { NotFoundError } from '@trellis/platform/errors';
import { normalizeEmail } from '../domain/email-address';
import type { NotificationDeps } from './deps';

export async function removeSuppression(
  deps: Pick<NotificationDeps, 'suppressions'>,
  rawEmail: string,
): Promise<void> {
  const email = normalizeEmail(rawEmail, 'email');
  if (!(await deps.suppressions.remove(email))) throw new NotFoundError('suppression', email);
}
