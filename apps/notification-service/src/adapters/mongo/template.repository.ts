import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError, withTransaction } from '@trellis/platform/mongo';
import type { MongoClient } from 'mongodb';
import type { Template } from '../../domain/template';
import type { TemplateRepository } from '../../app/ports/template.repository.port';

interface TemplateDoc {
  _id: string;
  template_id: string;
  version: number;
  display_name: string;
  description: string;
  subject: string;
  text_body: string;
  html_body: string;
  /** Absent on versions stored before #22: transactional. */
  marketing?: boolean;
  category?: string;
  created_at: Date;
}

/**
 * `templates` holds the latest version per id (_id = template id); `template_versions` every
 * version (_id = "id@version"). Both are written in one transaction.
 */
export class MongoTemplateRepository implements TemplateRepository {
  private readonly latestDocs: Collection<TemplateDoc>;
  private readonly versions: Collection<TemplateDoc>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
    this.latestDocs = db.collection<TemplateDoc>('templates');
    this.versions = db.collection<TemplateDoc>('template_versions');
  }

  async ensureIndexes(): Promise<void> {
    await this.versions.createIndex(
      { template_id: 1, version: 1 },
      { unique: true, name: 'id_version' },
    );
  }

  async create(template: Template): Promise<boolean> {
    try {
      await withTransaction(this.client, async (session) => {
        await this.latestDocs.insertOne(toDoc(template, template.id), { session });
        await this.versions.insertOne(toDoc(template, `${template.id}@${template.version}`), {
          session,
        });
      });
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async addVersion(next: Template): Promise<boolean> {
    try {
      return await withTransaction(this.client, async (session) => {
        const result = await this.latestDocs.replaceOne(
          { _id: next.id, version: next.version - 1 },
          toDoc(next, next.id),
          { session },
        );
        if (result.matchedCount === 0) return false;
        await this.versions.insertOne(toDoc(next, `${next.id}@${next.version}`), { session });
        return true;
      });
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async latest(id: string): Promise<Template | undefined> {
    const doc = await this.latestDocs.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  async version(id: string, version: number): Promise<Template | undefined> {
    const doc = await this.versions.findOne({ _id: `${id}@${version}` });
    return doc ? fromDoc(doc) : undefined;
  }

  async list(afterId: string | undefined, limit: number): Promise<Template[]> {
    const docs = await this.latestDocs
      .find(afterId !== undefined ? { _id: { $gt: afterId } } : {})
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map(fromDoc);
  }
}

function toDoc(t: Template, _id: string): TemplateDoc {
  return {
    _id,
    template_id: t.id,
    version: t.version,
    display_name: t.displayName,
    description: t.description,
    subject: t.subject,
    text_body: t.textBody,
    html_body: t.htmlBody,
    marketing: t.marketing,
    category: t.category,
    created_at: t.createdAt,
  };
}

function fromDoc(d: TemplateDoc): Template {
  return {
    id: d.template_id,
    version: d.version,
    displayName: d.display_name,
    description: d.description,
    subject: d.subject,
    textBody: d.text_body,
    htmlBody: d.html_body,
    marketing: d.marketing ?? false,
    category: d.category ?? '',
    createdAt: d.created_at,
  };
}
