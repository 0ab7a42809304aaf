import type { Collection, Db, MongoClient } from 'mongodb';
import { NotFoundError } from '@trellis/platform/errors';
import { isDuplicateKeyError, withTransaction } from '@trellis/platform/mongo';
import type { Campaign, CampaignTransition } from '../../domain/campaign';
import { DEFAULT_MARKETING_CATEGORY } from '../../domain/category';
import type { CampaignRepository } from '../../app/ports/campaign.repository.port';

type CampaignDoc = Omit<Campaign, 'id' | 'idempotencyKey'> & {
  _id: string;
  idempotencyKey?: string;
};

/** Campaign documents (camelCase fields, _id = campaign id); the idempotency key is unique when set. */
export class MongoCampaignRepository implements CampaignRepository {
  private readonly campaigns: Collection<CampaignDoc>;

  constructor(
    private readonly client: MongoClient,
    db: Db,
  ) {
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

  async create(c: Campaign): Promise<{ campaign: Campaign; created: boolean }> {
    const { id, idempotencyKey, ...rest } = c;
    try {
      await this.campaigns.insertOne({
        _id: id,
        ...rest,
        ...(idempotencyKey ? { idempotencyKey } : {}),
      });
      return { campaign: c, created: true };
    } catch (err) {
      if (!isDuplicateKeyError(err) || !idempotencyKey) throw err;
      const existing = await this.findByIdempotencyKey(idempotencyKey);
      if (!existing) throw err;
      return { campaign: existing, created: false };
    }
  }

  async findById(id: string): Promise<Campaign | undefined> {
    const doc = await this.campaigns.findOne({ _id: id });
    return doc ? fromDoc(doc) : undefined;
  }

  async findByIdempotencyKey(key: string): Promise<Campaign | undefined> {
    const doc = await this.campaigns.findOne({ idempotencyKey: key });
    return doc ? fromDoc(doc) : undefined;
  }

  async findByJobId(jobId: string): Promise<Campaign | undefined> {
    const doc = await this.campaigns.findOne({ jobId });
    return doc ? fromDoc(doc) : undefined;
  }

  /** Saves only the fields `change` changed, so a cancel and the worker's progress never undo each other. */
  update(id: string, change: (campaign: Campaign) => CampaignTransition): Promise<Campaign> {
    return withTransaction(this.client, async (session) => {
      const doc = await this.campaigns.findOne({ _id: id }, { session });
      if (!doc) throw new NotFoundError('campaign', id);
      const before = fromDoc(doc);
      const { campaign } = change(before);
      const set: Partial<CampaignDoc> = {};
      for (const [key, value] of Object.entries(campaign) as Array<[keyof Campaign, unknown]>) {
        if (key === 'id' || key === 'idempotencyKey' || value === before[key]) continue;
        (set as Record<string, unknown>)[key] = value;
      }
      if (Object.keys(set).length > 0) {
        await this.campaigns.updateOne({ _id: id }, { $set: set }, { session });
      }
      return campaign;
    });
  }
}

function fromDoc(d: CampaignDoc): Campaign {
  const { _id, idempotencyKey, ...rest } = d;
  // Campaigns stored before #22 have no category: the default one.
  return {
    id: _id,
    idempotencyKey: idempotencyKey ?? '',
    ...rest,
    category: rest.category ?? DEFAULT_MARKETING_CATEGORY,
  };
}
