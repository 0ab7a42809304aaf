import type { Collection, Db, Filter } from 'mongodb';
import { isDuplicateKeyError } from '@trellis/platform/mongo';
import type { Contact, PostalAddress } from '../../domain/contact';
import { emailDomain } from '../../domain/email-address';
import type { ContactRepository } from '../../app/ports/contact.repository.port';

interface ContactDoc {
  _id: string;
  email: string;
  domain: string;
  name: string;
  address?: PostalAddress;
  attributes: Record<string, string>;
  created_at: Date;
}

export class MongoContactRepository implements ContactRepository {
  private readonly contacts: Collection<ContactDoc>;

  constructor(db: Db) {
    this.contacts = db.collection<ContactDoc>('contacts');
  }

  async ensureIndexes(): Promise<void> {
    await this.contacts.createIndexes([
      { key: { email: 1 }, name: 'email_unique', unique: true },
      { key: { domain: 1, email: 1 }, name: 'domain_email' },
    ]);
  }

  async insert(c: Contact): Promise<boolean> {
    try {
      await this.contacts.insertOne({
        _id: c.id,
        email: c.email,
        domain: emailDomain(c.email),
        name: c.name,
        ...(c.address ? { address: c.address } : {}),
        attributes: c.attributes,
        created_at: c.createdAt,
      });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async findById(id: string): Promise<Contact | undefined> {
    const doc = await this.contacts.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  async delete(id: string): Promise<boolean> {
    return (await this.contacts.deleteOne({ _id: id })).deletedCount === 1;
  }

  async list(filter: { domain?: string; afterEmail?: string }, limit: number): Promise<Contact[]> {
    const query: Filter<ContactDoc> = {};
    if (filter.domain) query.domain = filter.domain;
    if (filter.afterEmail !== undefined) query.email = { $gt: filter.afterEmail };
    const docs = await this.contacts.find(query).sort({ email: 1 }).limit(limit).toArray();
    return docs.map(fromDoc);
  }

  async byEmails(emails: string[]): Promise<Contact[]> {
    if (emails.length === 0) return [];
    return (await this.contacts.find({ email: { $in: emails } }).toArray()).map(fromDoc);
  }

  async byIds(ids: string[]): Promise<Contact[]> {
    if (ids.length === 0) return [];
    return (await this.contacts.find({ _id: { $in: ids } }).toArray()).map(fromDoc);
  }

  async missingIds(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    // One read whatever the count (StartCampaign takes up to 10,000 ids): the whole answer comes
    // back in the first batch (a few hundred KB of ids), never a round trip per slice of ids.
    const docs = await this.contacts
      .find(
        { _id: { $in: ids } },
        { projection: { _id: 1 }, batchSize: ids.length, limit: ids.length },
      )
      .toArray();
    const found = new Set(docs.map((d) => d._id));
    return ids.filter((id) => !found.has(id));
  }

  countInDomain(domain: string): Promise<number> {
    return this.contacts.countDocuments({ domain });
  }
}

function fromDoc(d: ContactDoc): Contact {
  return {
    id: d._id,
    email: d.email,
    name: d.name,
    ...(d.address ? { address: d.address } : {}),
    attributes: d.attributes ?? {},
    createdAt: d.created_at,
  };
}
