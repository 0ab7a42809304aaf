import type { Contact } from '../domain/contact';
import { normalizeDomain } from '../domain/email-address';
import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { NotificationDeps } from './deps';

export async function listContacts(
  deps: Pick<NotificationDeps, 'contacts'>,
  input: { pageSize: number; pageToken: string; emailDomain: string },
): Promise<Page<Contact>> {
  const limit = pageSize(input.pageSize);
  const domain = input.emailDomain ? normalizeDomain(input.emailDomain, 'email_domain') : undefined;
  const filter = `contacts:${domain ?? ''}`;
  const after = decodePageToken(input.pageToken, filter);
  const rows = await deps.contacts.list(
    { domain, afterEmail: after ? String(after[0]) : undefined },
    limit + 1,
  );
  return toPage(rows, limit, (c) => [c.email], filter);
}
