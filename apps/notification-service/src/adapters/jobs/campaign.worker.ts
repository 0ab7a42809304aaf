import { createWorker, JobFailure, type JobServiceClient, type Worker } from '@trellis/job-worker';
import type { Logger } from '@trellis/platform/logging';
import type { RunCampaign } from '../../app/run-campaign.command';
import { CAMPAIGN_JOB_TYPE } from '../../domain/campaign';

/**
 * Runs `email.campaign` jobs through the worker SDK. A cancelled campaign ends its job through the
 * SDK's cancellation path (the heartbeat's cancel_requested aborts the signal; throwing its reason
 * makes the job CANCELLED).
 */
export function startCampaignWorker(
  runCampaign: RunCampaign,
  settings: {
    client: JobServiceClient;
    concurrency: number;
    heartbeatIntervalMs: number;
    logger: Logger;
  },
): Worker {
  return createWorker({
    client: settings.client,
    types: [CAMPAIGN_JOB_TYPE],
    // The longest long-poll (the SDK's and ClaimJobs' cap): an idle worker re-asks twice a minute,
    // a new job still wakes it at once, and stop() aborts the open call.
    claimWaitMs: 30_000,
    concurrency: settings.concurrency,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    logger: settings.logger,
    async handler({ job, signal, progress }) {
      const campaignId = (job.payload as { campaign_id?: unknown } | undefined)?.campaign_id;
      if (typeof campaignId !== 'string' || !campaignId) {
        throw new JobFailure('payload has no campaign_id', {
          retryable: false,
          code: 'BAD_PAYLOAD',
        });
      }
      const result = await runCampaign.execute({ campaignId, run: { signal, progress } });
      if (result.outcome === 'cancelled') {
        // The job-service learns of the cancellation through the next heartbeat; wait for it briefly.
        await new Promise<void>((resolve) => {
          if (signal.aborted) return resolve();
          const timer = setTimeout(resolve, Math.max(2_000, settings.heartbeatIntervalMs * 3));
          signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
        });
        throw signal.aborted
          ? signal.reason
          : new JobFailure('campaign cancelled', { retryable: false, code: 'CAMPAIGN_CANCELLED' });
      }
      return { ...result.progress };
    },
  });
}
