import type { Contact } from '../../domain/contact';

export interface ContactRepository {
  /** false if the email is already in the directory. */
  insert(contact: Contact): Promise<boolean>;
  findById(id: string): Promise<Contact | undefined>;
  delete(id: string): Promise<boolean>;
  /** Ordered by email, after `afterEmail`, optionally one domain. */
  list(filter: { domain?: string; afterEmail?: string }, limit: number): Promise<Contact[]>;
  byEmails(emails: string[]): Promise<Contact[]>;
  /** Ids that do not exist, in the order given. */
  missingIds(ids: string[]): Promise<string[]>;
  /** Contacts by id (any order). */
  byIds(ids: string[]): Promise<Contact[]>;
  countInDomain(domain: string): Promise<number>;
}
