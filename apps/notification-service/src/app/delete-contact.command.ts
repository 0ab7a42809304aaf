import { requireFields } from '@trellis/platform/errors';
import { notFound } from '../domain/errors';
import { CONTACT_ID } from '../domain/ids';
import type { ContactRepository } from './ports/contact.repository.port';

export interface DeleteContactDeps {
  contacts: ContactRepository;
}

export class DeleteContact {
  constructor(private readonly deps: DeleteContactDeps) {}

  async execute(input: { contactId: string }): Promise<void> {
    requireFields({ contact_id: [input.contactId, CONTACT_ID] });
    if (!(await this.deps.contacts.delete(input.contactId)))
      throw notFound('contact', input.contactId);
  }
}
