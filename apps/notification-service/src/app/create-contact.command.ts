import { AlreadyExistsError } from '@trellis/platform/errors';
import { type Contact, type NewContact, validateNewContact } from '../domain/contact';
import type { NotificationDeps } from './deps';

export async function createContact(
  deps: Pick<NotificationDeps, 'contacts' | 'clock' | 'newId'>,
  input: NewContact,
): Promise<Contact> {
  const valid = validateNewContact(input);
  const contact: Contact = { id: deps.newId(), ...valid, createdAt: deps.clock() };
  if (!(await deps.contacts.insert(contact))) {
    throw new AlreadyExistsError(
      'CONTACT.ALREADY_EXISTS',
      `a contact with email ${valid.email} exists`,
    );
  }
  return contact;
}
