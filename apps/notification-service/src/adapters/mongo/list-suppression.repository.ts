import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@trellis/platform/mongo';
import type { ListSuppression, UnsubscribeSource } from '../../domain/list-suppression';
import type { ListSuppressionStore } from '../../app/ports/list-suppression.port';

interface ListSuppressionDoc {
  _id: { email: string; list: string };
  source: UnsubscribeSource;
  created_at: Date;
}

/**
 * Per-list opt-outs in `list_suppressions`, keyed by (email, list) so a repeated click is a no-op.
 * Not in `suppressions`: that collection's `_id` is the bare address and means "no mail at all",
 * and ListSuppressions pages it by string `_id`.
 */
export class MongoListSuppressionRepository implements ListSuppressionStore {
  private readonly docs: Collection<ListSuppressionDoc>;

  constructor(db: Db) {
    this.docs = db.collection<ListSuppressionDoc>('list_suppressions');
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

  async isSuppressedForList(email: string, list: string): Promise<boolean> {
    const found = await this.docs.findOne({ _id: { email: email.toLowerCase(), list } });
    return found !== null;
  }
}
