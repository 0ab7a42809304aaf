import { NotFoundError } from '@trellis/platform/errors';
import type { Contact } from '../domain/contact';
import type { NotificationDeps } from './deps';

export async function getContact(
  deps: Pick<NotificationDeps, 'contacts'>,
  id: string,
): Promise<Contact> {
  const contact = id ? await deps.contacts.get(id) : undefined;
  if (!contact) throw new NotFoundError('contact', id || '(empty id)');
  return contact;
}
