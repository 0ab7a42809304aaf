export type CampaignState = 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** The job-service job type that runs a campaign (its worker and the JobDeadLettered/JobCancelled mirror). */
export const CAMPAIGN_JOB_TYPE = 'email.campaign';

export const FINAL_CAMPAIGN_STATES: readonly CampaignState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

export type CampaignRecipients =
  { kind: 'contacts'; contactIds: string[] } | { kind: 'domain'; domain: string };

export interface CampaignProgress {
  total: number;
  queued: number;
  sent: number;
  failed: number;
  suppressed: number;
}

export interface Campaign {
  id: string;
  templateId: string;
  templateVersion: number;
  state: CampaignState;
  /** Recipients selected, known once the worker counted them. */
  total: number;
  jobId: string;
  recipients: CampaignRecipients;
  cc: string[];
  variables: Record<string, unknown>;
  idempotencyKey: string;
  requestHash: string;
  cancelRequested: boolean;
  traceId: string;
  createdAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
}
