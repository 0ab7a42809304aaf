import type { Collection, Db } from 'mongodb';
import { allSucceeded, GroupCommit } from '@trellis/platform/batching';
import { isDuplicateKeyError } from '@trellis/platform/mongo';
import type { Suppression, SuppressionReason } from '../../domain/suppression';
import type { SuppressionRepository } from '../../app/ports/suppression.repository.port';

interface SuppressionDoc {
  _id: string;
  reason: SuppressionReason;
  comment: string;
  created_at: Date;
}

export class MongoSuppressionRepository implements SuppressionRepository {
  private readonly suppressions: Collection<SuppressionDoc>;
  /** Concurrent lookups (the delivery consumer's, the queueing use cases') share one query. */
  private readonly lookups = new GroupCommit<string[], Set<string>>(
    async (lists) => {
      const found = await this.find(lists.flat());
      return allSucceeded(lists.map((list) => new Set(list.filter((e) => found.has(e)))));
    },
    { maxBatch: 500, maxInFlight: 2 },
  );

  constructor(db: Db) {
    this.suppressions = db.collection<SuppressionDoc>('suppressions');
  }

  async insertIfAbsent(s: Suppression): Promise<{ suppression: Suppression; created: boolean }> {
    try {
      await this.suppressions.insertOne({
        _id: s.email,
        reason: s.reason,
        comment: s.comment,
        created_at: s.createdAt,
      });
      return { suppression: s, created: true };
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await this.suppressions.findOne({ _id: s.email });
      return { suppression: existing ? fromDoc(existing) : s, created: false };
    }
  }

  async list(afterEmail: string | undefined, limit: number): Promise<Suppression[]> {
    const docs = await this.suppressions
      .find(afterEmail !== undefined ? { _id: { $gt: afterEmail } } : {})
      .sort({ _id: 1 })
      .limit(limit)
      .toArray();
    return docs.map(fromDoc);
  }

  async remove(email: string): Promise<boolean> {
    return (await this.suppressions.deleteOne({ _id: email })).deletedCount === 1;
  }

  async suppressed(emails: string[]): Promise<Set<string>> {
    if (emails.length === 0) return new Set();
    return this.lookups.submit(emails);
  }

  private async find(emails: string[]): Promise<Set<string>> {
    if (emails.length === 0) return new Set();
    const docs = await this.suppressions
      .find({ _id: { $in: [...new Set(emails)] } })
      .project<{ _id: string }>({ _id: 1 })
      .toArray();
    return new Set(docs.map((d) => d._id));
  }
}

function fromDoc(d: SuppressionDoc): Suppression {
  return { email: d._id, reason: d.reason, comment: d.comment, createdAt: d.created_at };
}
