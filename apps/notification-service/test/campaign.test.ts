import { randomUUID } from 'node:crypto';
import { type ClientError, Status } from 'nice-grpc';
import { jobV1, notificationV1 } from '@trellis/contracts';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import type { RunningService } from '@trellis/platform/runtime';
import { waitFor } from '@trellis/platform/testing';
import { startJobServiceForTest } from './other-services';
import {
  errorInfo,
  startInfra,
  startTestService,
  type Infra,
  type NotificationClient,
  type StartedService,
} from './support';

const { CampaignState: C } = notificationV1;
const { JobState: J } = jobV1;

let infra: Infra;
let jobService: RunningService;
let jobs: GrpcClientHandle<typeof jobV1.JobServiceDefinition>;
let svc: StartedService;
let client: NotificationClient;
const CONTACTS = 500;
const SUPPRESSED = 20;

beforeAll(async () => {
  infra = await startInfra();
  jobService = await startJobServiceForTest(infra, `job_${randomUUID().slice(0, 8)}`);
  jobs = createGrpcClient(jobV1.JobServiceDefinition, { address: jobService.grpcAddress });
  svc = await startTestService(infra, {
    CAMPAIGN_WORKER_ENABLED: 'true',
    JOB_SERVICE_ADDRESS: jobService.grpcAddress,
    CAMPAIGN_BATCH_SIZE: '50',
    CAMPAIGN_MAX_IN_FLIGHT: '100',
    CAMPAIGN_HEARTBEAT_MS: '200',
    // Paced so a campaign runs long enough to watch it and to cancel one midway.
    SEND_RATE_PER_SECOND: '300',
    SEND_RATE_BURST: '10',
  });
  client = svc.client;
  await client.createTemplate({
    templateId: 'newsletter',
    displayName: 'Newsletter',
    subject: '{{issue}} for {{recipient.name}}',
    textBody: 'Dear {{contact.name}} ({{contact.attributes.tier}}), read {{issue}}.',
    htmlBody: '',
  });
  for (let i = 0; i < CONTACTS; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        client.createContact({
          email: `c${String(i + j).padStart(3, '0')}@camp.test`,
          name: `Contact ${i + j}`,
          attributes: { tier: (i + j) % 2 ? 'gold' : 'silver' },
        }),
      ),
    );
  }
  for (let i = 0; i < SUPPRESSED; i++) {
    await client.unsubscribe({
      email: `c${String(i * 7).padStart(3, '0')}@camp.test`,
      reason: 0,
      comment: '',
    });
  }
}, 120_000);

afterAll(async () => {
  await svc?.stop();
  jobs?.close();
  await jobService?.stop();
  await infra?.stop();
});

const total = (p: notificationV1.CampaignProgress | undefined) =>
  Number(p!.queued + p!.sent + p!.failed + p!.suppressed);

describe('campaigns', () => {
  it('500 contacts, 20 suppressed → exactly 480 mails, progress visible while running, job SUCCEEDED with counts', async () => {
    const { campaign } = await client.startCampaign({
      templateId: 'newsletter',
      emailDomain: 'camp.test',
      variables: { issue: 'Issue 1' },
      idempotencyKey: 'campaign-1',
    });
    expect(campaign!.state).toBe(C.CAMPAIGN_STATE_PENDING);
    expect(campaign!.jobId).not.toBe('');
    // Same key, same request → the same campaign (and no second job).
    const again = await client.startCampaign({
      templateId: 'newsletter',
      emailDomain: 'camp.test',
      variables: { issue: 'Issue 1' },
      idempotencyKey: 'campaign-1',
    });
    expect(again.campaign!.id).toBe(campaign!.id);

    const midway = await waitFor(
      async () => {
        const { campaign: c } = await client.getCampaign({ campaignId: campaign!.id });
        const p = c!.progress!;
        return c!.state === C.CAMPAIGN_STATE_RUNNING &&
          p.total === 500n &&
          p.sent > 0n &&
          p.sent < 480n
          ? c
          : undefined;
      },
      {
        what: 'the campaign to be seen running with partial progress',
        intervalMs: 10,
        timeoutMs: 30_000,
      },
    );
    expect(total(midway.progress)).toBeLessThanOrEqual(500);
    const runningJob = await waitFor(async () => {
      const { job } = await jobs.client.getJob({ jobId: campaign!.jobId });
      return job!.progress?.counters.total === 500n ? job : undefined;
    });
    expect(runningJob.progress!.message).not.toBe('');

    const done = await waitFor(
      async () => {
        const { campaign: c } = await client.getCampaign({ campaignId: campaign!.id });
        return c!.state === C.CAMPAIGN_STATE_SUCCEEDED ? c : undefined;
      },
      { what: 'the campaign to succeed', timeoutMs: 30_000 },
    );
    expect(done.progress).toEqual({
      total: 500n,
      queued: 0n,
      sent: 480n,
      failed: 0n,
      suppressed: 20n,
    });
    expect(done.finishedAt).toBeInstanceOf(Date);
    const mails = infra.sink.messages((m) => m.subject.startsWith('Issue 1 for '));
    expect(mails).toHaveLength(480);
    expect(new Set(mails.map((m) => m.envelope.to[0])).size).toBe(480);
    expect(mails.some((m) => m.envelope.to[0] === 'c007@camp.test')).toBe(false);
    const sample = mails.find((m) => m.envelope.to[0] === 'c001@camp.test')!;
    expect(sample.subject).toBe('Issue 1 for Contact 1');
    expect(sample.text).toBe('Dear Contact 1 (gold), read Issue 1.');

    const job = await waitFor(async () => {
      const { job: j } = await jobs.client.getJob({ jobId: campaign!.jobId });
      return j!.state === J.JOB_STATE_SUCCEEDED ? j : undefined;
    });
    expect(job.result).toEqual({ total: 500, queued: 0, sent: 480, failed: 0, suppressed: 20 });
    // A finished campaign cannot be cancelled.
    const err = await client.cancelCampaign({ campaignId: campaign!.id }).catch((e: unknown) => e);
    expect((err as ClientError).code).toBe(Status.FAILED_PRECONDITION);
    expect(errorInfo(err)?.reason).toBe('ILLEGAL_TRANSITION');
  });

  it('cancelling a campaign midway stops it; its counts add up', async () => {
    const { campaign } = await client.startCampaign({
      templateId: 'newsletter',
      emailDomain: 'camp.test',
      variables: { issue: 'Issue 2' },
    });
    await waitFor(
      async () => {
        const { campaign: c } = await client.getCampaign({ campaignId: campaign!.id });
        return c!.progress!.sent >= 50n;
      },
      { what: 'the second campaign to be under way', intervalMs: 10, timeoutMs: 30_000 },
    );
    const cancelled = await client.cancelCampaign({
      campaignId: campaign!.id,
      reason: 'wrong issue',
    });
    expect([C.CAMPAIGN_STATE_RUNNING, C.CAMPAIGN_STATE_CANCELLED]).toContain(
      cancelled.campaign!.state,
    );

    const settled = await waitFor(
      async () => {
        const { campaign: c } = await client.getCampaign({ campaignId: campaign!.id });
        return c!.state === C.CAMPAIGN_STATE_CANCELLED && c!.progress!.queued === 0n
          ? c
          : undefined;
      },
      { what: 'the campaign to stop and its queued mails to settle', timeoutMs: 30_000 },
    );
    const p = settled.progress!;
    const mails = infra.sink.messages((m) => m.subject.startsWith('Issue 2 for '));
    expect(BigInt(mails.length)).toBe(p.sent);
    expect(p.sent).toBeLessThan(480n);
    expect(p.failed).toBe(0n);
    expect(total(p)).toBeLessThan(500);
    const { notifications, nextPageToken } = await client.listNotifications({
      campaignId: campaign!.id,
      pageSize: 1000,
    });
    expect(nextPageToken).toBe('');
    expect(notifications).toHaveLength(total(p));
    // Cancelling again is a no-op; the job ended CANCELLED too.
    const again = await client.cancelCampaign({ campaignId: campaign!.id });
    expect(again.campaign!.state).toBe(C.CAMPAIGN_STATE_CANCELLED);
    await waitFor(async () => {
      const { job } = await jobs.client.getJob({ jobId: campaign!.jobId });
      return job!.state === J.JOB_STATE_CANCELLED;
    });
    // Nothing more arrives later.
    await waitFor(async () => {
      const { campaign: c } = await client.getCampaign({ campaignId: campaign!.id });
      return total(c!.progress) === notifications.length;
    });
  });

  it('validates recipients: unknown contact ids name the first one', async () => {
    const { contact } = await client.createContact({ email: 'known@camp2.test', name: 'K' });
    const err = await client
      .startCampaign({
        templateId: 'newsletter',
        contactIds: { ids: [contact!.id, '00000000-0000-4000-8000-000000000000'] },
      })
      .catch((e: unknown) => e as ClientError);
    expect((err as ClientError).code).toBe(Status.INVALID_ARGUMENT);
    expect((err as ClientError).details).toContain('contact_ids.ids[1]');
    const malformed = await client
      .startCampaign({ templateId: 'newsletter', contactIds: { ids: [contact!.id, 'nope'] } })
      .catch((e: unknown) => e as ClientError);
    expect((malformed as ClientError).details).toBe(
      'contact_ids.ids[1]: is not a valid contact id (expected a UUID)',
    );
  });
});
