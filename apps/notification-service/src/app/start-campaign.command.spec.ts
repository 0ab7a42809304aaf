import { randomUUID } from 'node:crypto';
import { ValidationError } from '@trellis/platform/errors';
import type { Template } from '../domain/template';
import type { CampaignJobs } from './ports/campaign-jobs.port';
import type { CampaignRepository } from './ports/campaign.repository.port';
import type { ContactRepository } from './ports/contact.repository.port';
import type { TemplateRepository } from './ports/template.repository.port';
import { StartCampaign, type StartCampaignInput } from './start-campaign.command';

const now = new Date('2026-12-01T00:00:00Z');
const template: Template = {
  id: 'newsletter',
  version: 1,
  displayName: 'Newsletter',
  description: '',
  subject: 's',
  textBody: 't',
  htmlBody: '',
  marketing: true,
  category: 'newsletter',
  createdAt: now,
};

/** Every port call the use case makes, by name: what a hostile request may cost. */
function countingPorts() {
  const calls: string[] = [];
  const fail = (name: string) => () => {
    calls.push(name);
    throw new Error(`${name} must not be reached`);
  };
  const templates: Pick<TemplateRepository, 'latest' | 'version'> = {
    latest: async () => (calls.push('templates.latest'), template),
    version: async () => (calls.push('templates.version'), template),
  };
  const contacts: Pick<ContactRepository, 'missingIds'> = {
    // No contact exists: every well-formed id is unknown.
    missingIds: async (ids) => (calls.push('contacts.missingIds'), ids),
  };
  const campaigns: Pick<CampaignRepository, 'create' | 'findByIdempotencyKey' | 'update'> = {
    create: fail('campaigns.create'),
    findByIdempotencyKey: fail('campaigns.findByIdempotencyKey'),
    update: fail('campaigns.update'),
  };
  const campaignJobs: CampaignJobs = {
    createCampaignJob: fail('campaignJobs.createCampaignJob'),
    cancelJob: fail('campaignJobs.cancelJob'),
  };
  const useCase = new StartCampaign({
    templates: templates as TemplateRepository,
    contacts: contacts as ContactRepository,
    campaigns: campaigns as CampaignRepository,
    campaignJobs,
    callerLimit: { tryCaller: async () => ({ allowed: true }) },
    runtime: { now: () => now, newId: randomUUID },
  });
  return { calls, useCase };
}

const input = (over: Partial<StartCampaignInput>): StartCampaignInput => ({
  templateId: 'newsletter',
  recipients: { kind: 'domain', domain: 'example.com' },
  cc: [],
  variables: {},
  idempotencyKey: '',
  caller: 'test',
  traceId: '',
  ...over,
});

/** The ValidationError `promise` rejects with (fails the test if it resolves or rejects otherwise). */
const refusal = (promise: Promise<unknown>): Promise<ValidationError> =>
  promise.then(
    () => Promise.reject(new Error('the request was accepted')),
    (err: unknown) => (expect(err).toBeInstanceOf(ValidationError), err as ValidationError),
  );

describe('StartCampaign refuses hostile input before any I/O', () => {
  it.each([
    [
      '1,001 malformed contact ids',
      'contact_ids.ids[0]',
      { recipients: { kind: 'contacts', contactIds: Array(1_001).fill('NaN') } },
    ],
    [
      '10,001 contact ids',
      'contact_ids.ids',
      { recipients: { kind: 'contacts', contactIds: [...Array(10_001)].map(() => randomUUID()) } },
    ],
    ['1,000 malformed cc addresses', 'cc', { cc: Array(1_000).fill('a@b') }],
    ['a malformed template id', 'template_id', { templateId: '../../etc/passwd' }],
    ['a malformed category', 'category', { category: 'NOT A CATEGORY' }],
    ['a malformed domain', 'email_domain', { recipients: { kind: 'domain', domain: '%s%n' } }],
  ] as Array<[string, string, Partial<StartCampaignInput>]>)(
    '%s: INVALID_ARGUMENT naming %s, no repository or job-service call',
    async (_name, field, over) => {
      const { calls, useCase } = countingPorts();
      const err = await refusal(useCase.execute(input(over)));
      expect(err.fieldViolations[0].field).toBe(field);
      expect(calls).toEqual([]);
    },
  );

  it('10,000 well-formed unknown contact ids: one contact look-up, no campaign, no job', async () => {
    const { calls, useCase } = countingPorts();
    const ids = [...Array(10_000)].map(() => randomUUID());
    const err = await refusal(
      useCase.execute(input({ recipients: { kind: 'contacts', contactIds: ids } })),
    );
    expect(err.fieldViolations).toEqual([
      { field: 'contact_ids.ids[0]', description: `unknown contact ${ids[0]}` },
    ]);
    expect(calls).toEqual(['templates.latest', 'contacts.missingIds']);
  });
});
