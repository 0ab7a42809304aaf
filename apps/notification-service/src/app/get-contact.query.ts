import { NotFoundError, requireFields } from '@trellis/platform/errors';
import type { Contact } from '../domain/contact';
import { CONTACT_ID } from '../domain/ids';
import type { NotificationDeps } from './deps';

export async function getContact(
  deps: Pick<NotificationDeps, 'contacts'>,
  id: string,
): Promise<Contact> {
  requireFields({ contact_id: [id, CONTACT_ID] });
  const contact = await deps.contacts.get(id);
  if (!contact) throw new NotFoundError('contact', id);
  return contact;
}
