import { NotFoundError } from '@trellis/platform/errors';
import type { Campaign, CampaignProgress } from '../domain/campaign';
import type { NotificationDeps } from './deps';

/** The campaign and its progress, counted from its notifications. */
export async function getCampaign(
  deps: Pick<NotificationDeps, 'campaigns' | 'notifications'>,
  id: string,
): Promise<{ campaign: Campaign; progress: CampaignProgress }> {
  const campaign = id ? await deps.campaigns.get(id) : undefined;
  if (!campaign) throw new NotFoundError('campaign', id || '(empty id)');
  const counts = await deps.notifications.campaignCounts(id);
  return { campaign, progress: { total: campaign.total, ...counts } };
}
