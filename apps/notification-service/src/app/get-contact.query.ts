import { requireFields } from '@trellis/platform/errors';
import type { Contact } from '../domain/contact';
import { notFound } from '../domain/errors';
import { CONTACT_ID } from '../domain/ids';
import type { ContactRepository } from './ports/contact.repository.port';

export interface GetContactDeps {
  contacts: ContactRepository;
}

export class GetContact {
  constructor(private readonly deps: GetContactDeps) {}

  async execute(input: { contactId: string }): Promise<Contact> {
    requireFields({ contact_id: [input.contactId, CONTACT_ID] });
    const contact = await this.deps.contacts.findById(input.contactId);
    if (!contact) throw notFound('contact', input.contactId);
    return contact;
  }
}
