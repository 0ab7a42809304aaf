import { PreconditionFailedError, ValidationError } from '@trellis/platform/errors';
import type { Campaign, CampaignProgress } from '../domain/campaign';
import type { NotificationDeps } from './deps';
import { getCampaign } from './get-campaign.query';

/**
 * Cancels the campaign's job and stops further sends: PENDING → CANCELLED at once; RUNNING stays
 * RUNNING (cancel requested) until its worker stops; CANCELLED is a no-op; SUCCEEDED/FAILED →
 * FAILED_PRECONDITION ILLEGAL_TRANSITION.
 */
export async function cancelCampaign(
  deps: NotificationDeps,
  input: { campaignId: string; reason: string },
): Promise<{ campaign: Campaign; progress: CampaignProgress }> {
  if (input.reason.length > 256)
    throw ValidationError.field('reason', 'must be at most 256 characters');
  const current = await getCampaign(deps, input.campaignId);
  const { campaign } = current;
  if (campaign.state === 'CANCELLED') return current;
  if (campaign.state === 'SUCCEEDED' || campaign.state === 'FAILED') {
    throw new PreconditionFailedError(
      'CAMPAIGN.ILLEGAL_TRANSITION',
      `campaign ${campaign.id} is ${campaign.state}`,
      { current_state: campaign.state },
    );
  }
  const now = deps.clock();
  const changes: Partial<Campaign> =
    campaign.state === 'PENDING'
      ? { cancelRequested: true, state: 'CANCELLED', finishedAt: now, updatedAt: now }
      : { cancelRequested: true, updatedAt: now };
  await deps.campaigns.update(campaign.id, changes);
  if (campaign.jobId)
    await deps.campaignJobs.cancelJob(campaign.jobId, input.reason || 'campaign cancelled');
  return getCampaign(deps, campaign.id);
}
