import { end } from '../domain/campaign';
import type { CampaignRepository } from './ports/campaign.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface SyncCampaignFromJobDeps {
  campaigns: CampaignRepository;
  runtime: Runtime;
}

/**
 * Mirrors the end of a campaign's job that the worker could not record itself: the job dead-lettered
 * → FAILED, cancelled → CANCELLED (the campaign is looked up by job id).
 */
export class SyncCampaignFromJob {
  constructor(private readonly deps: SyncCampaignFromJobDeps) {}

  async execute(input: { jobId: string; state: 'FAILED' | 'CANCELLED' }): Promise<void> {
    const campaign = await this.deps.campaigns.findByJobId(input.jobId);
    if (!campaign) return;
    await this.deps.campaigns.update(campaign.id, (c) =>
      end(c, input.state, this.deps.runtime.now()),
    );
  }
}
