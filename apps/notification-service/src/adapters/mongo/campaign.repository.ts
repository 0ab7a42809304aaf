import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError } from '@trellis/platform/mongo';
import type { Campaign } from '../../domain/campaign';
import type { CampaignRepository } from '../../app/campaign.repository.port';
import type { Tx } from '../../app/unit-of-work.port';
import { sessionOf } from './session';

type CampaignDoc = Omit<Campaign, 'id' | 'idempotencyKey'> & {
  _id: string;
  idempotencyKey?: string;
};

/** Campaign documents (camelCase fields, _id = campaign id); the idempotency key is unique when set. */
export class MongoCampaignRepository implements CampaignRepository {
  private readonly campaigns: Collection<CampaignDoc>;

  constructor(db: Db) {
    this.campaigns = db.collection<CampaignDoc>('campaigns');
  }

  async ensureIndexes(): Promise<void> {
    await this.campaigns.createIndexes([
      {
        key: { idempotencyKey: 1 },
        name: 'idempotency_key_unique',
        unique: true,
        partialFilterExpression: { idempotencyKey: { $type: 'string' } },
      },
      { key: { jobId: 1 }, name: 'job_id' },
    ]);
  }

  async insert(c: Campaign, tx?: Tx): Promise<boolean> {
    const { id, idempotencyKey, ...rest } = c;
    try {
      await this.campaigns.insertOne(
        { _id: id, ...rest, ...(idempotencyKey ? { idempotencyKey } : {}) },
        { session: sessionOf(tx) },
      );
      return true;
    } catch (err) {
      if (isDuplicateKeyError(err)) return false;
      throw err;
    }
  }

  async get(id: string, tx?: Tx): Promise<Campaign | undefined> {
    const doc = await this.campaigns.findOne({ _id: id }, { session: sessionOf(tx) });
    return doc ? fromDoc(doc) : undefined;
  }

  async byIdempotencyKey(key: string): Promise<Campaign | undefined> {
    const doc = await this.campaigns.findOne({ idempotencyKey: key });
    return doc ? fromDoc(doc) : undefined;
  }

  async byJobId(jobId: string): Promise<Campaign | undefined> {
    const doc = await this.campaigns.findOne({ jobId });
    return doc ? fromDoc(doc) : undefined;
  }

  async update(id: string, changes: Partial<Campaign>, tx?: Tx): Promise<void> {
    const { id: _id, ...set } = changes;
    await this.campaigns.updateOne({ _id: id }, { $set: set }, { session: sessionOf(tx) });
  }
}

function fromDoc(d: CampaignDoc): Campaign {
  const { _id, idempotencyKey, ...rest } = d;
  return { id: _id, idempotencyKey: idempotencyKey ?? '', ...rest };
}
