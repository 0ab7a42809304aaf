import type { Campaign, CampaignTransition } from '../../domain/campaign';

export interface CampaignRepository {
  /** Inserts; when the idempotency key is taken, the campaign holding it (`created: false`). */
  create(campaign: Campaign): Promise<{ campaign: Campaign; created: boolean }>;
  findById(id: string): Promise<Campaign | undefined>;
  findByIdempotencyKey(key: string): Promise<Campaign | undefined>;
  findByJobId(jobId: string): Promise<Campaign | undefined>;
  /** Loads, applies `change`, saves (rerun on a write conflict); NotFound when missing. */
  update(id: string, change: (campaign: Campaign) => CampaignTransition): Promise<Campaign>;
}
