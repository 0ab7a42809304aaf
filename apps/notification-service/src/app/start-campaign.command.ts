import {
  type FieldViolation,
  idViolation,
  replayable,
  requestHash as hashOf,
  validIdempotencyKey,
  ValidationError,
} from '@trellis/platform/errors';
import type { Campaign, CampaignRecipients } from '../domain/campaign';
import { isValidEmail, normalizeDomain } from '../domain/email-address';
import { CONTACT_ID } from '../domain/ids';
import { enforceCallerLimit } from './caller-limit';
import type { NotificationDeps } from './deps';
import { getTemplate } from './get-template.query';

export interface StartCampaignInput {
  templateId: string;
  recipients?: CampaignRecipients;
  cc: string[];
  variables: Record<string, unknown>;
  idempotencyKey: string;
  caller: string;
  traceId: string;
}

const MAX_CONTACT_IDS = 10_000;

/**
 * Creates the campaign (PENDING, the template's latest version fixed) and its `email.campaign`
 * job, whose idempotency key is the campaign id, so a retried start never creates a second job.
 */
export async function startCampaign(
  deps: NotificationDeps,
  input: StartCampaignInput,
): Promise<Campaign> {
  enforceCallerLimit(deps, input.caller, 'start_campaign_per_caller');
  const key = validIdempotencyKey('idempotency_key', input.idempotencyKey, false);
  const recipients = validateRecipients(input);
  const template = await getTemplate(deps, input.templateId, 0);
  if (recipients.kind === 'contacts') {
    const missing = await deps.contacts.missingIds(recipients.contactIds);
    if (missing.length > 0) {
      const index = recipients.contactIds.indexOf(missing[0]);
      throw ValidationError.field(`contact_ids.ids[${index}]`, `unknown contact ${missing[0]}`);
    }
  }
  const cc = input.cc.map((c) => c.trim().toLowerCase());
  const requestHash = hashOf({
    templateId: template.id,
    recipients,
    cc,
    variables: input.variables,
  });

  if (key) {
    const existing = await deps.campaigns.byIdempotencyKey(key);
    if (existing) return resume(deps, existing, requestHash, key);
  }
  const now = deps.clock();
  const campaign: Campaign = {
    id: deps.newId(),
    templateId: template.id,
    templateVersion: template.version,
    state: 'PENDING',
    total: 0,
    jobId: '',
    recipients,
    cc,
    variables: input.variables,
    idempotencyKey: key,
    requestHash,
    cancelRequested: false,
    traceId: input.traceId,
    createdAt: now,
    updatedAt: now,
  };
  if (!(await deps.campaigns.insert(campaign))) {
    const existing = await deps.campaigns.byIdempotencyKey(key);
    if (existing) return resume(deps, existing, requestHash, key);
  }
  return attachJob(deps, campaign);
}

async function resume(
  deps: NotificationDeps,
  existing: Campaign,
  requestHash: string,
  key: string,
) {
  replayable(existing, requestHash, 'NOTIFICATION', key);
  // A start that failed after storing the campaign is completed by its retry.
  return existing.jobId ? existing : attachJob(deps, existing);
}

async function attachJob(deps: NotificationDeps, campaign: Campaign): Promise<Campaign> {
  const jobId = await deps.campaignJobs.createCampaignJob(campaign.id);
  const updatedAt = deps.clock();
  await deps.campaigns.update(campaign.id, { jobId, updatedAt });
  return { ...campaign, jobId, updatedAt };
}

function validateRecipients(input: StartCampaignInput): CampaignRecipients {
  const violations: FieldViolation[] = [];
  let recipients: CampaignRecipients | undefined;
  if (!input.templateId) violations.push({ field: 'template_id', description: 'is required' });
  if (!input.recipients) {
    violations.push({
      field: 'recipients',
      description: 'contact_ids or email_domain is required',
    });
  } else if (input.recipients.kind === 'contacts') {
    const ids = input.recipients.contactIds;
    if (ids.length < 1 || ids.length > MAX_CONTACT_IDS) {
      violations.push({
        field: 'contact_ids.ids',
        description: `1-${MAX_CONTACT_IDS} contact ids`,
      });
    }
    ids.forEach((id, i) => {
      const malformed = idViolation(`contact_ids.ids[${i}]`, id, CONTACT_ID);
      if (malformed) violations.push(malformed);
    });
    const unique = [...new Set(ids)];
    recipients = { kind: 'contacts', contactIds: unique };
  } else {
    try {
      recipients = {
        kind: 'domain',
        domain: normalizeDomain(input.recipients.domain, 'email_domain'),
      };
    } catch (err) {
      if (err instanceof ValidationError) violations.push(...err.fieldViolations);
      else throw err;
    }
  }
  if (input.cc.length > 50) violations.push({ field: 'cc', description: 'at most 50 addresses' });
  input.cc.forEach((c, i) => {
    if (!isValidEmail(c.trim()))
      violations.push({ field: `cc[${i}]`, description: 'must be a valid email address' });
  });
  if (violations.length > 0 || !recipients) throw new ValidationError(violations);
  return recipients;
}
