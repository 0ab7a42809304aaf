import type { CampaignRepository } from './ports/campaign.repository.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import { campaignWithProgress, type CampaignWithProgress } from './support/campaign-progress';

export interface GetCampaignDeps {
  campaigns: CampaignRepository;
  notifications: NotificationRepository;
}

/** The campaign and its progress, counted from its notifications. */
export class GetCampaign {
  constructor(private readonly deps: GetCampaignDeps) {}

  execute(input: { campaignId: string }): Promise<CampaignWithProgress> {
    return campaignWithProgress(this.deps, input.campaignId);
  }
}
