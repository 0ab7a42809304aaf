import {
  type Campaign,
  type CampaignProgress,
  end,
  isFinal,
  startRunning,
} from '../domain/campaign';
import type { Contact } from '../domain/contact';
import type { CampaignRepository } from './ports/campaign.repository.port';
import type { ContactRepository } from './ports/contact.repository.port';
import type { ListSuppressionStore } from './ports/list-suppression.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { SuppressionRepository } from './ports/suppression.repository.port';
import { queueTransitions } from './support/queue-notifications';
import { recipientVariables } from './support/recipient-variables';

export interface CampaignRunSettings {
  /** Recipients read and queued per transaction. */
  batchSize: number;
  /** Most of this campaign's notifications QUEUED/SENDING at once (backpressure on the pipeline). */
  maxInFlight: number;
  /** How often to re-check in-flight counts and cancellation while waiting. */
  pollMs: number;
  /** How long to wait, after queueing everything, for the mails to reach a final state. */
  drainTimeoutMs: number;
}

export interface CampaignRun {
  signal: AbortSignal;
  progress(update: { percent: number; message: string; counters: Record<string, number> }): void;
}

export interface RunCampaignDeps {
  campaigns: CampaignRepository;
  contacts: ContactRepository;
  notifications: NotificationRepository;
  suppressions: SuppressionRepository;
  listSuppressions: Pick<ListSuppressionStore, 'suppressedForList'>;
  runtime: Runtime;
  settings: CampaignRunSettings & { messageIdDomain: string };
}

export type CampaignRunResult = { outcome: 'succeeded' | 'cancelled'; progress: CampaignProgress };

/**
 * The `email.campaign` job: streams recipients in batches, queues one notification per recipient
 * keyed by campaign + address (a retried job re-queues nothing; suppressed ones end SUPPRESSED),
 * keeps at most `maxInFlight` undelivered, reports progress, stops on cancellation, and finishes
 * once every mail reached a final state.
 */
export class RunCampaign {
  constructor(private readonly deps: RunCampaignDeps) {}

  async execute(input: { campaignId: string; run: CampaignRun }): Promise<CampaignRunResult> {
    const { deps } = this;
    const { campaignId, run } = input;
    const { settings } = deps;
    let campaign = await deps.campaigns.findById(campaignId);
    if (!campaign) throw new Error(`campaign ${campaignId} not found`);
    const report = async (message: string): Promise<CampaignProgress> => {
      const counts = await deps.notifications.campaignCounts(campaignId);
      const done = counts.sent + counts.failed + counts.suppressed;
      const total = campaign!.total;
      run.progress({
        percent: total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 0,
        message,
        counters: { total, ...counts },
      });
      return { total, ...counts };
    };
    const cancelled = async (): Promise<boolean> => {
      if (run.signal.aborted) return true;
      const fresh = await deps.campaigns.findById(campaignId);
      return !fresh || fresh.cancelRequested || isFinal(fresh);
    };
    const finish = async (outcome: 'succeeded' | 'cancelled'): Promise<CampaignRunResult> => {
      const progress = await report(outcome);
      const state = outcome === 'succeeded' ? 'SUCCEEDED' : 'CANCELLED';
      if (await deps.campaigns.findById(campaignId)) {
        await deps.campaigns.update(campaignId, (c) => end(c, state, deps.runtime.now()));
      }
      return { outcome, progress };
    };

    if (await cancelled()) return finish('cancelled');
    const total =
      campaign.recipients.kind === 'contacts'
        ? campaign.recipients.contactIds.length
        : await deps.contacts.countInDomain(campaign.recipients.domain);
    campaign = await deps.campaigns.update(campaignId, (c) =>
      startRunning(c, total, deps.runtime.now()),
    );

    for await (const batch of recipientBatches(deps.contacts, campaign, settings.batchSize)) {
      if (!(await waitForRoom(deps.notifications, campaignId, settings, cancelled)))
        return finish('cancelled');
      const emails = batch.map((c) => c.email);
      const [suppressed, optedOut] = await Promise.all([
        deps.suppressions.suppressed(emails),
        deps.listSuppressions.suppressedForList(emails, campaign.category),
      ]);
      await deps.notifications.create(
        queueTransitions(
          batch.map((contact) => ({
            recipient: contact.email,
            cc: campaign!.cc,
            content: {
              kind: 'template',
              templateId: campaign!.templateId,
              templateVersion: campaign!.templateVersion,
              variables: campaign!.variables,
            },
            contextVariables: recipientVariables(contact.email, contact),
            source: 'CAMPAIGN',
            sourceRef: campaignId,
            dedupeKey: `campaign:${campaignId}:${contact.email}`,
            campaignId,
            category: campaign!.category,
            traceId: campaign!.traceId,
          })),
          suppressed,
          settings.messageIdDomain,
          deps.runtime.now(),
          optedOut,
        ),
      );
      await report('queueing');
    }
    // Everything is queued; wait for the pipeline to settle so the result carries final counts.
    const deadline = Date.now() + settings.drainTimeoutMs;
    for (;;) {
      if (await cancelled()) return finish('cancelled');
      const progress = await report('delivering');
      if (progress.queued === 0 || Date.now() > deadline) return finish('succeeded');
      await delay(settings.pollMs, run.signal);
    }
  }
}

async function waitForRoom(
  notifications: Pick<NotificationRepository, 'campaignCounts'>,
  campaignId: string,
  settings: CampaignRunSettings,
  cancelled: () => Promise<boolean>,
): Promise<boolean> {
  for (;;) {
    if (await cancelled()) return false;
    const counts = await notifications.campaignCounts(campaignId);
    if (counts.queued + settings.batchSize <= Math.max(settings.maxInFlight, settings.batchSize))
      return true;
    await delay(settings.pollMs);
  }
}

/** Recipients in stable order (by email), `size` at a time, read lazily. */
async function* recipientBatches(
  directory: Pick<ContactRepository, 'byIds' | 'list'>,
  campaign: Campaign,
  size: number,
): AsyncGenerator<Contact[]> {
  if (campaign.recipients.kind === 'contacts') {
    const ids = campaign.recipients.contactIds;
    for (let i = 0; i < ids.length; i += size) {
      const contacts = await directory.byIds(ids.slice(i, i + size));
      // Deleted since the start: skipped (the total still counts them).
      if (contacts.length > 0) yield contacts.sort((a, b) => (a.email < b.email ? -1 : 1));
    }
    return;
  }
  let afterEmail: string | undefined;
  for (;;) {
    const page = await directory.list({ domain: campaign.recipients.domain, afterEmail }, size);
    if (page.length === 0) return;
    yield page;
    afterEmail = page[page.length - 1].email;
    if (page.length < size) return;
  }
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
