import type { Campaign } from '../domain/campaign';
import type { Tx } from './unit-of-work.port';

export interface CampaignRepository {
  /** false if the idempotency key is taken. */
  insert(campaign: Campaign, tx?: Tx): Promise<boolean>;
  get(id: string, tx?: Tx): Promise<Campaign | undefined>;
  byIdempotencyKey(key: string): Promise<Campaign | undefined>;
  byJobId(jobId: string): Promise<Campaign | undefined>;
  update(id: string, changes: Partial<Campaign>, tx?: Tx): Promise<void>;
}
