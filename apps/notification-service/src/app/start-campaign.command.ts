import {
  type FieldViolation,
  idViolation,
  replayable,
  requestHash as hashOf,
  validIdempotencyKey,
  ValidationError,
} from '@trellis/platform/errors';
import { attachJob, type Campaign, type CampaignRecipients } from '../domain/campaign';
import { DEFAULT_MARKETING_CATEGORY, optionalCategory } from '../domain/category';
import { isValidEmail, normalizeDomain } from '../domain/email-address';
import { CONTACT_ID } from '../domain/ids';
import type { CampaignJobs } from './ports/campaign-jobs.port';
import type { CampaignRepository } from './ports/campaign.repository.port';
import type { ContactRepository } from './ports/contact.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { TemplateRepository } from './ports/template.repository.port';
import type { SendLimiter } from './ports/send-limiter.port';
import { enforceCallerLimit } from './support/caller-limit';
import { findTemplate } from './support/template-lookup';

export interface StartCampaignDeps {
  campaigns: CampaignRepository;
  templates: TemplateRepository;
  contacts: ContactRepository;
  campaignJobs: CampaignJobs;
  callerLimit: Pick<SendLimiter, 'tryCaller'>;
  runtime: Runtime;
}

export interface StartCampaignInput {
  templateId: string;
  recipients?: CampaignRecipients;
  cc: string[];
  variables: Record<string, unknown>;
  /** Absent or '' = the template's category, else DEFAULT_MARKETING_CATEGORY. */
  category?: string;
  idempotencyKey: string;
  caller: string;
  traceId: string;
}

const MAX_CONTACT_IDS = 10_000;

/**
 * Creates the campaign (PENDING, the template's latest version fixed) and its `email.campaign`
 * job, whose idempotency key is the campaign id, so a retried start never creates a second job.
 */
export class StartCampaign {
  constructor(private readonly deps: StartCampaignDeps) {}

  async execute(input: StartCampaignInput): Promise<Campaign> {
    const { deps } = this;
    await enforceCallerLimit(deps.callerLimit, input.caller, 'start_campaign_per_caller');
    const key = validIdempotencyKey('idempotency_key', input.idempotencyKey, false);
    const recipients = validateRecipients(input);
    const declared = optionalCategory(input.category ?? '');
    const template = await findTemplate(deps.templates, input.templateId, 0);
    // Campaign mail is marketing mail: it always has a category, so it is always unsubscribable.
    const category = declared || template.category || DEFAULT_MARKETING_CATEGORY;
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
      ...(declared ? { category: declared } : {}),
    });

    if (key) {
      const existing = await deps.campaigns.findByIdempotencyKey(key);
      if (existing) return this.resume(existing, requestHash, key);
    }
    const now = deps.runtime.now();
    const { campaign, created } = await deps.campaigns.create({
      id: deps.runtime.newId(),
      templateId: template.id,
      templateVersion: template.version,
      state: 'PENDING',
      total: 0,
      jobId: '',
      recipients,
      cc,
      variables: input.variables,
      category,
      idempotencyKey: key,
      requestHash,
      cancelRequested: false,
      traceId: input.traceId,
      createdAt: now,
      updatedAt: now,
    });
    if (!created) return this.resume(campaign, requestHash, key);
    return this.attachJob(campaign);
  }

  private resume(existing: Campaign, requestHash: string, key: string): Promise<Campaign> {
    replayable(existing, requestHash, 'NOTIFICATION', key);
    // A start that failed after storing the campaign is completed by its retry.
    return existing.jobId ? Promise.resolve(existing) : this.attachJob(existing);
  }

  private async attachJob(campaign: Campaign): Promise<Campaign> {
    const jobId = await this.deps.campaignJobs.createCampaignJob(campaign.id);
    return this.deps.campaigns.update(campaign.id, (c) =>
      attachJob(c, jobId, this.deps.runtime.now()),
    );
  }
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
