import { randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { Status } from 'nice-grpc';
import { notificationV1 } from '@trellis/contracts';
import type { RunningService } from '@trellis/platform/runtime';
import { waitFor } from '@trellis/platform/testing';
import { KeyRing } from '../src/app/support/key-ring';
import { UnsubscribeTokens } from '../src/app/support/unsubscribe-token';
import { startJobServiceForTest } from './other-services';
import {
  startInfra,
  startTestService,
  type Infra,
  type NotificationClient,
  type StartedService,
} from './support';

const N = notificationV1;
const KEYS = 'k1:unsubscribe-secret-0123456789';
const BOUNCE_DOMAIN = 'bounce.trellis.test';

/**
 * #22 items 1-3 through the running service: campaign and SendEmail mail with a category carry
 * List-Unsubscribe and a VERP return path, a one-click POST opts exactly that contact out of that
 * category, SMTP 5xx and exhausted 4xx suppress, and a DSN the sink sends later reaches the
 * bounce intake, marks the notification BOUNCED and suppresses.
 */
describe('deliverability wired into the delivery path (devstack MongoDB, Kafka, SMTP sink)', () => {
  let infra: Infra;
  let jobService: RunningService;
  let svc: StartedService;
  let client: NotificationClient;
  let mongo: MongoClient;
  let db: Db;
  const run = randomUUID().slice(0, 8);
  const addr = (name: string) => `${name}@run${run}.example.test`;
  const lines = () => svc.lines;

  beforeAll(async () => {
    infra = await startInfra();
    jobService = await startJobServiceForTest(infra, `job_${run}`);
    svc = await startTestService(infra, {
      CAMPAIGN_WORKER_ENABLED: 'true',
      JOB_SERVICE_ADDRESS: jobService.grpcAddress,
      CAMPAIGN_HEARTBEAT_MS: '200',
      UNSUBSCRIBE_KEYS: KEYS,
      PUBLIC_BASE_URL: 'https://mail.trellis.test',
      NOTIFICATION_HTTP_HOST: '127.0.0.1',
      NOTIFICATION_HTTP_PORT: '0',
      BOUNCE_KEYS: 'b1:bounce-secret-0123456789',
      BOUNCE_DOMAIN,
      BOUNCE_SMTP_ENABLED: 'true',
      BOUNCE_SMTP_HOST: '127.0.0.1',
      BOUNCE_SMTP_PORT: '0',
      EMAIL_MAX_ATTEMPTS: '2',
      SOFT_BOUNCE_LIMIT: '1',
    });
    client = svc.client;
    mongo = await MongoClient.connect(infra.mongoUri);
    db = mongo.db(svc.database);
    await client.createTemplate({
      templateId: `news-${run}`,
      displayName: 'News',
      subject: 'News for {{recipient.email}}',
      textBody: 'Hello',
      marketing: true,
      category: 'newsletter',
    });
    for (const name of ['ann', 'bob']) await client.createContact({ email: addr(name) });
  }, 60_000);

  afterAll(async () => {
    await mongo?.close();
    await svc?.stop();
    await jobService?.stop();
    await infra?.stop();
  });

  const listening = (msg: string) =>
    waitFor(() => lines().find((l) => l.msg === msg)?.url as string | undefined, { what: msg });
  const header = (m: { headers: Array<{ name: string; value: string }> }, name: string) =>
    m.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  const finalState = (id: string, state: notificationV1.NotificationState) =>
    waitFor(
      async () => {
        const { notification } = await client.getNotification({ notificationId: id });
        return notification?.state === state ? notification : undefined;
      },
      { what: `notification ${id} in state ${state}` },
    );
  const send = async (to: string, extra: Partial<notificationV1.SendEmailRequest> = {}) => {
    const { notifications } = await client.sendEmail({
      to: [to],
      inline: { subject: 'Your receipt', textBody: 'Paid', htmlBody: '' },
      idempotencyKey: randomUUID(),
      ...extra,
    });
    return notifications[0];
  };
  const oneClick = (url: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
  const optOuts = () => db.collection('list_suppressions').find().sort({ _id: 1 }).toArray();

  it('a campaign mail carries List-Unsubscribe (https + mailto), List-Unsubscribe-Post and a VERP return path; a receipt carries none', async () => {
    const { campaign } = await client.startCampaign({
      templateId: `news-${run}`,
      contactIds: {
        ids: [
          (await client.listContacts({ emailDomain: `run${run}.example.test` })).contacts[0].id,
        ],
      },
    });
    expect(campaign?.category).toBe('newsletter');
    const mail = await infra.sink.waitForMessageTo(addr('ann'));
    const receipt = await send(addr('bob'));
    const receiptMail = await infra.sink.waitForMessageTo(addr('bob'));

    const [https, mailto] = header(mail, 'List-Unsubscribe')!.split(', ');
    expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(https).toMatch(/^<https:\/\/mail\.trellis\.test\/unsubscribe\?token=u2\.k1\./);
    expect(mailto).toMatch(/^<mailto:[^?]+\?subject=unsubscribe%20u2\.k1\./);
    // The token names the mail, not the address: nothing in the header reveals who it went to.
    expect(header(mail, 'List-Unsubscribe')).not.toContain('ann');
    const notificationId = header(mail, 'X-Trellis-Notification-Id')!;
    expect(mail.envelope.from).toMatch(
      new RegExp(
        `^bounce\\+${notificationId}\\.[0-9a-f]{16}@${BOUNCE_DOMAIN.replace(/\./g, '\\.')}$`,
      ),
    );

    expect(receipt.category).toBe('');
    expect(header(receiptMail, 'List-Unsubscribe')).toBeUndefined();
    expect(header(receiptMail, 'List-Unsubscribe-Post')).toBeUndefined();
    expect(receiptMail.envelope.from).toMatch(/^bounce\+/);
  });

  it('a one-click POST opts exactly that contact out of that category; later mail of it is SUPPRESSED, other categories still go', async () => {
    const news = await send(addr('bob'), {
      inline: undefined,
      template: { templateId: `news-${run}`, templateVersion: 0, variables: {} },
    });
    expect(news.category).toBe('newsletter');
    const mail = await infra.sink.waitForMessages(
      (m) => header(m, 'X-Trellis-Notification-Id') === news.id,
    );
    // PUBLIC_BASE_URL is the public name of the endpoint: here, the test's listener.
    const link = new URL(/^<([^>]+)>/.exec(header(mail[0], 'List-Unsubscribe')!)![1]);
    const url = `${await listening('notification http endpoint listening')}${link.pathname}${link.search}`;
    const res = await oneClick(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await optOuts()).toMatchObject([
      { _id: { email: addr('bob'), list: 'newsletter' }, source: 'one-click' },
    ]);
    const contacts = (await client.listContacts({ emailDomain: `run${run}.example.test` }))
      .contacts;
    expect(contacts.map((c) => [c.email, c.optedOutCategories])).toEqual([
      [addr('ann'), []],
      [addr('bob'), ['newsletter']],
    ]);

    const again = await send(addr('bob'), { category: 'newsletter' });
    expect(again.state).toBe(N.NotificationState.NOTIFICATION_STATE_SUPPRESSED);
    expect(again.lastError).toBe('SUPPRESSED: opted out of newsletter');
    const other = await send(addr('bob'), { category: 'product-news' });
    await finalState(other.id, N.NotificationState.NOTIFICATION_STATE_SENT);
    const ann = await send(addr('ann'), { category: 'newsletter' });
    await finalState(ann.id, N.NotificationState.NOTIFICATION_STATE_SENT);
  });

  it('a forged or expired token is refused and opts no one out', async () => {
    const before = await optOuts();
    const target = await send(addr('ann'), { category: 'newsletter' });
    const httpUrl = await listening('notification http endpoint listening');
    const expired = new UnsubscribeTokens(KeyRing.parse(KEYS), 1000).issue(
      target.id,
      'newsletter',
      new Date(Date.now() - 60_000),
    );
    const forged = new UnsubscribeTokens(
      KeyRing.parse('k1:guessed-secret-0123456789'),
      86_400_000,
    ).issue(target.id, 'newsletter', new Date());
    for (const token of [expired, forged]) {
      expect((await oneClick(`${httpUrl}/unsubscribe?token=${token}`)).status).toBe(403);
    }
    expect(await optOuts()).toEqual(before);
  });

  it('UpdateContactPreferences opts a contact out of and back into categories, and names a bad field', async () => {
    const ann = (await client.listContacts({ emailDomain: `run${run}.example.test` })).contacts[0];
    const { contact } = await client.updateContactPreferences({
      contactId: ann.id,
      optOut: ['product-news', 'offers'],
    });
    expect(contact?.optedOutCategories).toEqual(['offers', 'product-news']);
    const back = await client.updateContactPreferences({ contactId: ann.id, optIn: ['offers'] });
    expect(back.contact?.optedOutCategories).toEqual(['product-news']);
    expect((await client.getContact({ contactId: ann.id })).contact?.optedOutCategories).toEqual([
      'product-news',
    ]);
    expect(await optOuts()).toContainEqual(
      expect.objectContaining({
        _id: { email: addr('ann'), list: 'product-news' },
        source: 'directory',
      }),
    );
    const bad = await client
      .updateContactPreferences({ contactId: ann.id, optOut: ['Not A Category'] })
      .catch((err: unknown) => err);
    expect(bad).toMatchObject({ code: Status.INVALID_ARGUMENT });
    expect(String((bad as Error).message)).toMatch(/opt_out\[0\]/);
    const both = await client
      .updateContactPreferences({ contactId: ann.id, optOut: ['offers'], optIn: ['offers'] })
      .catch((err: unknown) => err);
    expect(String((both as Error).message)).toMatch(/opt_in\[0\]/);
    const badSend = await send(addr('ann'), { category: 'News!' }).catch((err: unknown) => err);
    expect(badSend).toMatchObject({ code: Status.INVALID_ARGUMENT });
    expect(String((badSend as Error).message)).toMatch(/category/);
  });

  it('a 550 at send time suppresses the address with HARD_BOUNCE and the server reply', async () => {
    infra.sink.failRecipients({
      [addr('gone')]: { code: 550, message: '5.1.1 <gone> no such user' },
    });
    const failed = await send(addr('gone'));
    await finalState(failed.id, N.NotificationState.NOTIFICATION_STATE_FAILED);
    const { suppressions } = await client.listSuppressions({ pageSize: 1000 });
    expect(suppressions.find((s) => s.email === addr('gone'))).toMatchObject({
      reason: N.SuppressionReason.SUPPRESSION_REASON_HARD_BOUNCE,
      comment: expect.stringMatching(/^5\.1\.1 .*550.*no such user/),
    });
    // The next mail to it is not attempted.
    const next = await send(addr('gone'));
    expect(next.state).toBe(N.NotificationState.NOTIFICATION_STATE_SUPPRESSED);
  });

  it('4xx until retries run out counts as a soft bounce (SOFT_BOUNCE_LIMIT 1: suppressed)', async () => {
    infra.sink.failRecipients({ [addr('full')]: { code: 452, message: '4.2.2 mailbox full' } });
    const failed = await send(addr('full'));
    await finalState(failed.id, N.NotificationState.NOTIFICATION_STATE_FAILED);
    const { suppressions } = await client.listSuppressions({ pageSize: 1000 });
    expect(suppressions.find((s) => s.email === addr('full'))).toMatchObject({
      reason: N.SuppressionReason.SUPPRESSION_REASON_SOFT_BOUNCE,
      comment: expect.stringMatching(/4\.2\.2/),
    });
  });

  it('an asynchronous DSN from the sink reaches the intake, marks the notification BOUNCED and suppresses', async () => {
    const intakeUrl = await listening('bounce intake listening');
    infra.sink.bounceAsync(intakeUrl, {
      [addr('later')]: { status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown' },
    });
    const mail = await send(addr('later'), { category: 'newsletter' });
    const bounced = await finalState(mail.id, N.NotificationState.NOTIFICATION_STATE_BOUNCED);
    expect(bounced.lastError).toMatch(/^5\.1\.1 /);
    expect(bounced.smtpResponse).toMatch(/^250/);
    const { suppressions } = await client.listSuppressions({ pageSize: 1000 });
    expect(suppressions.find((s) => s.email === addr('later'))).toMatchObject({
      reason: N.SuppressionReason.SUPPRESSION_REASON_HARD_BOUNCE,
    });
  });
});
