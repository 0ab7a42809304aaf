import { requireFields } from '@trellis/platform/errors';
import type { ContactWithPreferences } from '../domain/contact';
import { notFound } from '../domain/errors';
import { CONTACT_ID } from '../domain/ids';
import type { ContactRepository } from './ports/contact.repository.port';
import type { ListSuppressionStore } from './ports/list-suppression.port';

export interface GetContactDeps {
  contacts: ContactRepository;
  listSuppressions: Pick<ListSuppressionStore, 'listsOf'>;
}

/** A contact with the categories it opted out of. */
export class GetContact {
  constructor(private readonly deps: GetContactDeps) {}

  async execute(input: { contactId: string }): Promise<ContactWithPreferences> {
    requireFields({ contact_id: [input.contactId, CONTACT_ID] });
    const contact = await this.deps.contacts.findById(input.contactId);
    if (!contact) throw notFound('contact', input.contactId);
    const lists = await this.deps.listSuppressions.listsOf([contact.email]);
    return { ...contact, optedOutCategories: lists.get(contact.email) ?? [] };
  }
}
