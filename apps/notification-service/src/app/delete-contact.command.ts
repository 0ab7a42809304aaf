import { NotFoundError } from '@trellis/platform/errors';
import type { NotificationDeps } from './deps';

export async function deleteContact(
  deps: Pick<NotificationDeps, 'contacts'>,
  id: string,
): Promise<void> {
  if (!id || !(await deps.contacts.delete(id)))
    throw new NotFoundError('contact', id || '(empty id)');
}
