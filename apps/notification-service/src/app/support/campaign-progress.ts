import { requireFields } from '@trellis/platform/errors';
import type { Campaign, CampaignProgress } from '../../domain/campaign';
import { notFound } from '../../domain/errors';
import { CAMPAIGN_ID } from '../../domain/ids';
import type { CampaignRepository } from '../ports/campaign.repository.port';
import type { NotificationRepository } from '../ports/notification.repository.port';

export interface CampaignWithProgress {
  campaign: Campaign;
  progress: CampaignProgress;
}

/** The campaign and its progress, counted from its notifications. */
export async function campaignWithProgress(
  deps: {
    campaigns: Pick<CampaignRepository, 'findById'>;
    notifications: Pick<NotificationRepository, 'campaignCounts'>;
  },
  id: string,
): Promise<CampaignWithProgress> {
  requireFields({ campaign_id: [id, CAMPAIGN_ID] });
  const campaign = await deps.campaigns.findById(id);
  if (!campaign) throw notFound('campaign', id);
  const counts = await deps.notifications.campaignCounts(id);
  return { campaign, progress: { total: campaign.total, ...counts } };
}
