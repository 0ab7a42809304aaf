import { type Contact, type NewContact, validateNewContact } from '../domain/contact';
import { contactAlreadyExists } from '../domain/errors';
import type { ContactRepository } from './ports/contact.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface CreateContactDeps {
  contacts: ContactRepository;
  runtime: Runtime;
}

export class CreateContact {
  constructor(private readonly deps: CreateContactDeps) {}

  async execute(input: NewContact): Promise<Contact> {
    const valid = validateNewContact(input);
    const contact: Contact = {
      id: this.deps.runtime.newId(),
      ...valid,
      createdAt: this.deps.runtime.now(),
    };
    if (!(await this.deps.contacts.insert(contact))) throw contactAlreadyExists(valid.email);
    return contact;
  }
}
