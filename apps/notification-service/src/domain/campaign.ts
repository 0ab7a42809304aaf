import { campaignIllegalTransition } from './errors';

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
  /** The category of its (marketing) mails. */
  category: string;
  idempotencyKey: string;
  requestHash: string;
  cancelRequested: boolean;
  traceId: string;
  createdAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
}

/** Campaigns publish no events; the shape matches the other aggregates' transitions. */
export interface CampaignTransition {
  campaign: Campaign;
  events: never[];
}

const to = (campaign: Campaign): CampaignTransition => ({ campaign, events: [] });

export function isFinal(campaign: Campaign): boolean {
  return FINAL_CAMPAIGN_STATES.includes(campaign.state);
}

/** The job that runs the campaign was created. */
export function attachJob(c: Campaign, jobId: string, now: Date): CampaignTransition {
  return to({ ...c, jobId, updatedAt: now });
}

/**
 * PENDING → CANCELLED at once; RUNNING stays RUNNING with cancel requested (its worker stops);
 * CANCELLED is a no-op; SUCCEEDED/FAILED → CAMPAIGN.ILLEGAL_TRANSITION.
 */
export function cancel(c: Campaign, now: Date): CampaignTransition {
  if (c.state === 'CANCELLED') return to(c);
  if (c.state === 'SUCCEEDED' || c.state === 'FAILED') throw campaignIllegalTransition(c);
  return to(
    c.state === 'PENDING'
      ? { ...c, cancelRequested: true, state: 'CANCELLED', finishedAt: now, updatedAt: now }
      : { ...c, cancelRequested: true, updatedAt: now },
  );
}

/** The worker counted the recipients and starts queueing. */
export function startRunning(c: Campaign, total: number, now: Date): CampaignTransition {
  return to({ ...c, state: 'RUNNING', total, updatedAt: now });
}

/**
 * The campaign ended: its worker finished (SUCCEEDED/CANCELLED) or its job died or was cancelled
 * outside the worker (FAILED/CANCELLED). A campaign already in a final state stays as it is.
 */
export function end(
  c: Campaign,
  state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED',
  now: Date,
): CampaignTransition {
  if (isFinal(c)) return to(c);
  return to({ ...c, state, finishedAt: now, updatedAt: now });
}
