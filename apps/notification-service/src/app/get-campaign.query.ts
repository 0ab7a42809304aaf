import { NotFoundError, requireFields } from '@trellis/platform/errors';
import { CAMPAIGN_ID } from '../domain/ids';
import type { Campaign, CampaignProgress } from '../domain/campaign';
import type { NotificationDeps } from './deps';

/** The campaign and its progress, counted from its notifications. */
export async function getCampaign(
  deps: Pick<NotificationDeps, 'campaigns' | 'notifications'>,
  id: string,
): Promise<{ campaign: Campaign; progress: CampaignProgress }> {
  requireFields({ campaign_id: [id, CAMPAIGN_ID] });
  const campaign = await deps.campaigns.get(id);
  if (!campaign) throw new NotFoundError('campaign', id);
  const counts = await deps.notifications.campaignCounts(id);
  return { campaign, progress: { total: campaign.total, ...counts } };
}
