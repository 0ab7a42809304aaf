/** The job-service as seen by campaigns. */
export interface CampaignJobs {
  /** Creates the `email.campaign` job for a campaign (idempotent per campaign id); returns its id. */
  createCampaignJob(campaignId: string): Promise<string>;
  /** Cancels the job; a job that already ended is not an error. */
  cancelJob(jobId: string, reason: string): Promise<void>;
}
