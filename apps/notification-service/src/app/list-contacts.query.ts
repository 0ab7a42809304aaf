import type { ContactWithPreferences } from '../domain/contact';
import { normalizeDomain } from '../domain/email-address';
import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { ContactRepository } from './ports/contact.repository.port';
import type { ListSuppressionStore } from './ports/list-suppression.port';

export interface ListContactsDeps {
  contacts: ContactRepository;
  listSuppressions: Pick<ListSuppressionStore, 'listsOf'>;
}

export class ListContacts {
  constructor(private readonly deps: ListContactsDeps) {}

  async execute(input: {
    pageSize: number;
    pageToken: string;
    emailDomain: string;
  }): Promise<Page<ContactWithPreferences>> {
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
    // One query for the page's opt-outs.
    const lists = await this.deps.listSuppressions.listsOf(rows.map((c) => c.email));
    return toPage(
      rows.map((c) => ({ ...c, optedOutCategories: lists.get(c.email) ?? [] })),
      limit,
      (c) => [c.email],
      filter,
    );
  }
}
