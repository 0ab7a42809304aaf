import { createHmac, randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { captureLogger } from '@trellis/platform/testing';
import {
  startNotificationHttp,
  type NotificationHttp,
} from '../src/adapters/http/notification.http';
import { MongoBounceRecorder } from '../src/adapters/mongo/bounce-recorder.repository';
import { MongoListSuppressionRepository } from '../src/adapters/mongo/list-suppression.repository';
import { MongoNotificationRepository } from '../src/adapters/mongo/notification.repository';
import { RecordDeliveryReport } from '../src/app/record-delivery-report.command';
import { KeyRing } from '../src/app/support/key-ring';
import { ListUnsubscribeHeaders } from '../src/app/support/list-unsubscribe-headers';
import { UnsubscribeTokens } from '../src/app/support/unsubscribe-token';
import { VerpAddresses } from '../src/app/support/verp';
import { UnsubscribeByToken } from '../src/app/unsubscribe-by-token.command';

/** These tests read the stores, not the counters. */
const noDeliverabilityMetrics = { bounced() {}, complained() {}, unsubscribed() {} };

const KEYS = 'k1:unsubscribe-secret-0123456789';
const WEBHOOK = 'p1:provider-webhook-secret-0123';
const DAY = 86_400_000;

describe('notification HTTP endpoint (unsubscribe, delivery-event webhook) on the devstack MongoDB', () => {
  let mongo: MongoDevServer | undefined;
  let client: MongoClient;
  let db: Db;
  let http: NotificationHttp;
  const tokens = new UnsubscribeTokens(KeyRing.parse(KEYS), 30 * DAY);

  beforeAll(async () => {
    mongo = process.env.MONGODB_URI ? undefined : await startMongoDevServer({ port: 0 });
    client = await MongoClient.connect(process.env.MONGODB_URI ?? mongo!.uri);
    db = client.db(`notification_http_${randomUUID().slice(0, 8)}`);
    const bounces = new MongoBounceRecorder(db, {
      softBounceLimit: 3,
      softBounceWindowMs: 7 * DAY,
    });
    await bounces.ensureIndexes();
    // No relay in this test: outbox messages are written, nobody publishes them.
    const notifications = new MongoNotificationRepository(
      client,
      db,
      { append: async () => undefined },
      { notify: () => undefined },
    );
    http = await startNotificationHttp({
      host: '127.0.0.1',
      port: 0,
      unsubscribeByToken: new UnsubscribeByToken({
        tokens,
        listSuppressions: new MongoListSuppressionRepository(db),
        notifications,
        metrics: noDeliverabilityMetrics,
        clock: () => new Date(),
      }),
      recordDeliveryReport: new RecordDeliveryReport({
        verp: new VerpAddresses(KeyRing.parse(KEYS), 'bounce.trellis.test'),
        bounces,
        notifications,
        metrics: noDeliverabilityMetrics,
        clock: () => new Date(),
      }),
      webhookKeys: KeyRing.parse(WEBHOOK),
      logger: captureLogger().logger,
    });
  });

  afterAll(async () => {
    await http.close();
    await client.close();
    await mongo?.stop();
  });

  const listSuppressions = () =>
    db.collection('list_suppressions').find({}).sort({ created_at: 1 }).toArray();

  /** A sent marketing mail to `email`: its notification is what the token names. */
  const mailTo = async (email: string, category: string) => {
    const id = randomUUID();
    await db
      .collection<{ _id: string; recipient: string; cc: string[]; state: string }>('notifications')
      .insertOne({ _id: id, recipient: email, cc: [], state: 'SENT', category } as never);
    return id;
  };

  /** The https URL of a campaign mail's List-Unsubscribe header, pointed at this test's server. */
  const oneClickUrl = async (email: string, list: string, now = new Date()) => {
    const notificationId = await mailTo(email, list);
    const headers = new ListUnsubscribeHeaders(tokens, {
      publicUrl: http.url,
      mailto: 'unsub@trellis.test',
    });
    return /^<([^>]+)>/.exec(
      headers.for(notificationId, { kind: 'marketing', list }, now)['List-Unsubscribe'],
    )![1];
  };

  const oneClick = (url: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });

  it('a one-click POST suppresses exactly that contact for that list, sets no cookie, and repeats harmlessly', async () => {
    await db.collection('list_suppressions').deleteMany({});
    const url = await oneClickUrl('ann@example.com', 'newsletter');
    const first = await oneClick(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('set-cookie')).toBeNull();
    expect((await oneClick(url)).status).toBe(200);
    expect(await listSuppressions()).toEqual([
      {
        _id: { email: 'ann@example.com', list: 'newsletter' },
        source: 'one-click',
        created_at: expect.any(Date),
      },
    ]);
    // Other lists and other contacts are untouched.
    expect(
      await new MongoListSuppressionRepository(db).isSuppressedForList(
        'ann@example.com',
        'product-news',
      ),
    ).toBe(false);
  });

  it('a one-click POST sent as multipart/form-data (as Gmail does) is recognised as one-click', async () => {
    await db.collection('list_suppressions').deleteMany({});
    const form = new FormData();
    form.append('List-Unsubscribe', 'One-Click');
    const res = await fetch(await oneClickUrl('gmail@example.com', 'newsletter'), {
      method: 'POST',
      body: form,
    });
    expect(res.status).toBe(200);
    expect(await listSuppressions()).toMatchObject([
      { _id: { email: 'gmail@example.com', list: 'newsletter' }, source: 'one-click' },
    ]);
  });

  it('a forged or expired token is refused (403, 400 for garbage) and writes nothing', async () => {
    await db.collection('list_suppressions').deleteMany({});
    const forgedTokens = new UnsubscribeTokens(KeyRing.parse('k1:attacker-guessed-secret-00'), DAY);
    const forged = `${http.url}/unsubscribe?token=${forgedTokens.issue(await mailTo('bob@example.com', 'newsletter'), 'newsletter', new Date())}`;
    expect((await oneClick(forged)).status).toBe(403);
    const expired = await oneClickUrl(
      'bob@example.com',
      'newsletter',
      new Date(Date.now() - 31 * DAY),
    );
    const refused = await oneClick(expired);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/expired/);
    expect((await oneClick(`${http.url}/unsubscribe?token=nonsense`)).status).toBe(400);
    expect((await fetch(forged)).status).toBe(403);
    expect(await listSuppressions()).toEqual([]);
  });

  it('answers an oversized body with 413 (declared or streamed), not a reset connection, and writes nothing', async () => {
    await db.collection('list_suppressions').deleteMany({});
    const url = await oneClickUrl('huge@example.com', 'newsletter');
    const declared = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `List-Unsubscribe=One-Click&pad=${'x'.repeat(2_000_000)}`,
    });
    expect(declared.status).toBe(413);
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const streamed = await fetch(`${http.url}/webhooks/delivery-events`, {
      method: 'POST',
      // No content-length: chunked, so only counting the bytes can tell.
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          if ((sent += chunk.length) > 4_000_000) controller.close();
          else controller.enqueue(chunk);
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await oneClick(url)).status).toBe(200);
    expect(await listSuppressions()).toHaveLength(1);
  });

  it('GET shows a confirmation page without writing; its form POST suppresses with source confirm-page', async () => {
    await db.collection('list_suppressions').deleteMany({});
    const url = await oneClickUrl('carol@example.com', 'product-news');
    const page = await fetch(url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('product-news');
    expect(await listSuppressions()).toEqual([]);
    const action = /<form method="post" action="([^"]+)"/.exec(html)![1].replace(/&#38;/g, '&');
    const confirmed = await fetch(new URL(action, http.url), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'confirm=yes',
    });
    expect(confirmed.status).toBe(200);
    expect(await listSuppressions()).toMatchObject([
      { _id: { email: 'carol@example.com', list: 'product-news' }, source: 'confirm-page' },
    ]);
  });

  const signedPost = (
    body: string,
    secret = 'provider-webhook-secret-0123',
    t = Math.floor(Date.now() / 1000),
  ) =>
    fetch(`${http.url}/webhooks/delivery-events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-trellis-signature': `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`,
      },
      body,
    });

  it('a signed provider webhook records a hard bounce and a complaint and suppresses both addresses', async () => {
    const notificationId = randomUUID();
    await db
      .collection<{ _id: string; recipient: string; cc: string[]; state: string }>('notifications')
      .insertOne({
        _id: notificationId,
        recipient: 'dave@example.com',
        cc: ['erin@example.com'],
        state: 'SENT',
      });
    const body = JSON.stringify({
      events: [
        {
          type: 'bounce',
          notificationId,
          recipient: 'dave@example.com',
          status: '5.1.1',
          diagnostic: '550 no user',
        },
        { type: 'complaint', notificationId, recipient: 'erin@example.com' },
      ],
    });
    const res = await signedPost(body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ bounces: 1, complaints: 1 });
    const suppressed = await db
      .collection<{ _id: string }>('suppressions')
      .find({ _id: { $in: ['dave@example.com', 'erin@example.com'] } })
      .sort({ _id: 1 })
      .toArray();
    expect(suppressed).toMatchObject([
      { _id: 'dave@example.com', reason: 'HARD_BOUNCE', comment: '5.1.1 550 no user' },
      { _id: 'erin@example.com', reason: 'COMPLAINED' },
    ]);
    // The bounce of its recipient (To) moved the notification; the cc's complaint did not.
    expect(
      await db.collection('notifications').findOne({ _id: notificationId } as never),
    ).toMatchObject({ state: 'BOUNCED', lastError: '5.1.1 550 no user' });
  });

  it('refuses an unsigned, wrongly signed or stale webhook (401) and a malformed one (400), recording nothing', async () => {
    const before = await db.collection('delivery_reports').countDocuments({});
    const body = JSON.stringify({
      events: [
        {
          type: 'bounce',
          notificationId: randomUUID(),
          recipient: 'frank@example.com',
          status: '5.1.1',
        },
      ],
    });
    expect((await signedPost(body, 'not-the-provider-secret-000')).status).toBe(401);
    expect((await signedPost(body, undefined, Math.floor(Date.now() / 1000) - 3600)).status).toBe(
      401,
    );
    expect(
      (await fetch(`${http.url}/webhooks/delivery-events`, { method: 'POST', body })).status,
    ).toBe(401);
    const bad = await signedPost(
      JSON.stringify({ events: [{ type: 'bounce', notificationId: 'x' }] }),
    );
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^events\.0\./);
    expect(await db.collection('delivery_reports').countDocuments({})).toBe(before);
  });
});
