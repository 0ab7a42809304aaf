import { NotFoundError, requireFields } from '@trellis/platform/errors';
import { CONTACT_ID } from '../domain/ids';
import type { NotificationDeps } from './deps';

export async function deleteContact(
  deps: Pick<NotificationDeps, 'contacts'>,
  id: string,
): Promise<void> {
  requireFields({ contact_id: [id, CONTACT_ID] });
  if (!(await deps.contacts.delete(id))) throw new NotFoundError('contact', id);
}
