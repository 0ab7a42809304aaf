import { ValidationError } from '@trellis/platform/errors';
import { cancel } from '../domain/campaign';
import type { CampaignJobs } from './ports/campaign-jobs.port';
import type { CampaignRepository } from './ports/campaign.repository.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import type { Runtime } from './ports/runtime.port';
import { campaignWithProgress, type CampaignWithProgress } from './support/campaign-progress';

export interface CancelCampaignDeps {
  campaigns: CampaignRepository;
  notifications: NotificationRepository;
  campaignJobs: CampaignJobs;
  runtime: Runtime;
}

/**
 * Cancels the campaign's job and stops further sends (domain `cancel`: PENDING → CANCELLED at once;
 * RUNNING stays RUNNING, cancel requested, until its worker stops; CANCELLED is a no-op;
 * SUCCEEDED/FAILED → FAILED_PRECONDITION ILLEGAL_TRANSITION).
 */
export class CancelCampaign {
  constructor(private readonly deps: CancelCampaignDeps) {}

  async execute(input: { campaignId: string; reason: string }): Promise<CampaignWithProgress> {
    const { deps } = this;
    if (input.reason.length > 256)
      throw ValidationError.field('reason', 'must be at most 256 characters');
    const current = await campaignWithProgress(deps, input.campaignId);
    const { campaign } = current;
    if (campaign.state === 'CANCELLED') return current;
    await deps.campaigns.update(campaign.id, (c) => cancel(c, deps.runtime.now()));
    if (campaign.jobId)
      await deps.campaignJobs.cancelJob(campaign.jobId, input.reason || 'campaign cancelled');
    return campaignWithProgress(deps, campaign.id);
  }
}
