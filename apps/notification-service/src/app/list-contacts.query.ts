import type { Contact } from '../domain/contact';
import { normalizeDomain } from '../domain/email-address';
import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { ContactRepository } from './ports/contact.repository.port';

export interface ListContactsDeps {
  contacts: ContactRepository;
}

export class ListContacts {
  constructor(private readonly deps: ListContactsDeps) {}

  async execute(input: {
    pageSize: number;
    pageToken: string;
    emailDomain: string;
  }): Promise<Page<Contact>> {
    const limit = pageSize(input.pageSize);
    const domain = input.emailDomain
      ? normalizeDomain(input.emailDomain, 'email_domain')
      : undefined;
    const filter = `contacts:${domain ?? ''}`;
    const after = decodePageToken(input.pageToken, filter);
    const rows = await this.deps.contacts.list(
      { domain, afterEmail: after ? String(after[0]) : undefined },
      limit + 1,
    );
    return toPage(rows, limit, (c) => [c.email], filter);
  }
}
