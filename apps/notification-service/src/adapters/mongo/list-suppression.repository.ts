import type { Collection, Db } from 'mongodb';
import { allSucceeded, GroupCommit } from '@trellis/platform/batching';
import { isDuplicateKeyError } from '@trellis/platform/mongo';
import type { ListSuppression, UnsubscribeSource } from '../../domain/list-suppression';
import type { ListSuppressionStore } from '../../app/ports/list-suppression.port';

interface ListSuppressionDoc {
  _id: { email: string; list: string };
  source: UnsubscribeSource;
  created_at: Date;
}

/**
 * Per-category opt-outs in `list_suppressions`, keyed by (email, list) so a repeated click is a no-op.
 * Not in `suppressions`: that collection's `_id` is the bare address and means "no mail at all",
 * and ListSuppressions pages it by string `_id`.
 */
export class MongoListSuppressionRepository implements ListSuppressionStore {
  private readonly docs: Collection<ListSuppressionDoc>;
  /** The delivery consumer's concurrent pre-send checks (one consumer batch) share one query. */
  private readonly checks = new GroupCommit<{ email: string; list: string }, boolean>(
    async (pairs) => {
      const found = await this.docs
        .find({ _id: { $in: pairs } })
        .project<Pick<ListSuppressionDoc, '_id'>>({ _id: 1 })
        .toArray();
      const key = (p: { email: string; list: string }) => `${p.list}\n${p.email}`;
      const suppressed = new Set(found.map((d) => key(d._id)));
      return allSucceeded(pairs.map((p) => suppressed.has(key(p))));
    },
    { maxBatch: 500, maxInFlight: 2 },
  );

  constructor(db: Db) {
    this.docs = db.collection<ListSuppressionDoc>('list_suppressions');
  }

  async ensureIndexes(): Promise<void> {
    // `_id` is {email, list}: an index on the email alone serves listsOf.
    await this.docs.createIndex({ '_id.email': 1, '_id.list': 1 }, { name: 'email_list' });
  }

  async suppressForList(entry: ListSuppression): Promise<{ created: boolean }> {
    try {
      await this.docs.insertOne({
        _id: { email: entry.email.toLowerCase(), list: entry.list },
        source: entry.source,
        created_at: entry.createdAt,
      });
      return { created: true };
    } catch (err) {
      if (isDuplicateKeyError(err)) return { created: false };
      throw err;
    }
  }

  async removeForList(email: string, list: string): Promise<boolean> {
    const { deletedCount } = await this.docs.deleteOne({
      _id: { email: email.toLowerCase(), list },
    });
    return deletedCount === 1;
  }

  async suppressedForList(emails: string[], list: string): Promise<Set<string>> {
    if (emails.length === 0) return new Set();
    const docs = await this.docs
      .find({ _id: { $in: [...new Set(emails)].map((email) => ({ email, list })) } })
      .project<Pick<ListSuppressionDoc, '_id'>>({ _id: 1 })
      .toArray();
    return new Set(docs.map((d) => d._id.email));
  }

  async listsOf(emails: string[]): Promise<Map<string, string[]>> {
    const lists = new Map<string, string[]>();
    if (emails.length === 0) return lists;
    const docs = await this.docs
      .find({ '_id.email': { $in: [...new Set(emails)] } })
      .project<Pick<ListSuppressionDoc, '_id'>>({ _id: 1 })
      .sort({ '_id.email': 1, '_id.list': 1 })
      .toArray();
    for (const { _id } of docs) lists.set(_id.email, [...(lists.get(_id.email) ?? []), _id.list]);
    return lists;
  }

  isSuppressedForList(email: string, list: string): Promise<boolean> {
    // Field order matters: `_id` is matched as a whole document, written {email, list}.
    return this.checks.submit({ email: email.toLowerCase(), list });
  }
}
