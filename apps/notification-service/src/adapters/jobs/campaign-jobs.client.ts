import { ClientError, Status } from 'nice-grpc';
import { jobV1 } from '@trellis/contracts';
import { UnavailableError } from '@trellis/platform/errors';
import type { CampaignJobs } from '../../app/ports/campaign-jobs.port';
import { CAMPAIGN_JOB_TYPE } from '../../domain/campaign';

type JobClient = Pick<jobV1.JobServiceClient, 'createJob' | 'cancelJob'>;

/** CampaignJobs over the job-service's gRPC API. */
export class GrpcCampaignJobs implements CampaignJobs {
  constructor(private readonly client: JobClient) {}

  async createCampaignJob(campaignId: string): Promise<string> {
    try {
      const response = await this.client.createJob(
        jobV1.CreateJobRequest.fromPartial({
          type: CAMPAIGN_JOB_TYPE,
          payload: { campaign_id: campaignId },
          idempotencyKey: `campaign:${campaignId}`,
        }),
      );
      return response.job?.id ?? '';
    } catch (err) {
      throw unavailable(err);
    }
  }

  async cancelJob(jobId: string, reason: string): Promise<void> {
    try {
      await this.client.cancelJob(jobV1.CancelJobRequest.fromPartial({ jobId, reason }));
    } catch (err) {
      // Already ended (FAILED_PRECONDITION) is fine: the campaign's own flag stops the worker.
      if (err instanceof ClientError && err.code === Status.FAILED_PRECONDITION) return;
      throw unavailable(err);
    }
  }
}

function unavailable(err: unknown): Error {
  if (
    err instanceof ClientError &&
    (err.code === Status.UNAVAILABLE || err.code === Status.DEADLINE_EXCEEDED)
  ) {
    return new UnavailableError(
      'JOB_SERVICE.UNAVAILABLE',
      'the job-service is unavailable; retry later',
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
