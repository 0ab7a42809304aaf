import type { DecodedEvent } from '@trellis/contracts';
import { CAMPAIGN_JOB_TYPE, FINAL_CAMPAIGN_STATES } from '../domain/campaign';
import type { NotificationDeps } from './deps';

/**
 * Mirrors the end of a campaign's job that the worker could not record itself: JobDeadLettered →
 * FAILED, JobCancelled → CANCELLED (the job id is looked up by campaign).
 */
export async function syncCampaignFromJob(
  deps: Pick<NotificationDeps, 'campaigns' | 'clock'>,
  event: DecodedEvent,
): Promise<void> {
  let jobId: string;
  let state: 'FAILED' | 'CANCELLED';
  if (
    event.eventType === 'trellis.job.v1.JobDeadLettered' &&
    event.payload.type === CAMPAIGN_JOB_TYPE
  ) {
    jobId = event.payload.jobId;
    state = 'FAILED';
  } else if (
    event.eventType === 'trellis.job.v1.JobCancelled' &&
    event.payload.type === CAMPAIGN_JOB_TYPE
  ) {
    jobId = event.payload.jobId;
    state = 'CANCELLED';
  } else {
    return;
  }
  const campaign = await deps.campaigns.byJobId(jobId);
  if (!campaign || FINAL_CAMPAIGN_STATES.includes(campaign.state)) return;
  const now = deps.clock();
  await deps.campaigns.update(campaign.id, { state, finishedAt: now, updatedAt: now });
}
