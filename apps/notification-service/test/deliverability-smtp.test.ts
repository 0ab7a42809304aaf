import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import nodemailer from 'nodemailer';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { composeDsn, startSmtpSink, type SmtpSink } from '@trellis/devstack/smtp';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import {
  startBounceSmtpListener,
  type BounceSmtpListener,
} from '../src/adapters/bounce-intake/smtp-listener';
import { MongoBounceRecorder } from '../src/adapters/mongo/bounce-recorder.repository';
import { MongoNotificationRepository } from '../src/adapters/mongo/notification.repository';
import { dkimTransportOption } from '../src/adapters/smtp/dkim-options';
import { composeMessage } from '../src/adapters/smtp/mime-message';
import { RecordDeliveryReport } from '../src/app/record-delivery-report.command';
import { KeyRing } from '../src/app/support/key-ring';
import { ListUnsubscribeHeaders } from '../src/app/support/list-unsubscribe-headers';
import { UnsubscribeTokens } from '../src/app/support/unsubscribe-token';
import { VerpAddresses } from '../src/app/support/verp';

/** These tests read the stores, not the counters. */
const noDeliverabilityMetrics = { bounced() {}, complained() {}, unsubscribed() {} };

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DKIM_RECORD = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const BOUNCE_DOMAIN = 'bounce.trellis.test';

describe('signed mail, asynchronous bounces and the SMTP bounce intake (devstack MongoDB + sink)', () => {
  let mongo: MongoDevServer | undefined;
  let client: MongoClient;
  let db: Db;
  let sink: SmtpSink;
  let intake: BounceSmtpListener;
  const verp = new VerpAddresses(KeyRing.parse('b1:bounce-secret-0123456789'), BOUNCE_DOMAIN);
  const headers = new ListUnsubscribeHeaders(
    new UnsubscribeTokens(KeyRing.parse('k1:unsubscribe-secret-0123456789'), 86_400_000),
    { publicUrl: 'https://mail.trellis.test', mailto: 'unsubscribe@trellis.test' },
  );

  beforeAll(async () => {
    mongo = process.env.MONGODB_URI ? undefined : await startMongoDevServer({ port: 0 });
    client = await MongoClient.connect(process.env.MONGODB_URI ?? mongo!.uri);
    db = client.db(`notification_bounce_${randomUUID().slice(0, 8)}`);
    sink = await startSmtpSink({
      port: 0,
      httpPort: false,
      dkimDnsRecords: { 'trellis._domainkey.trellis.test': DKIM_RECORD },
    });
    const bounces = new MongoBounceRecorder(db, {
      softBounceLimit: 2,
      softBounceWindowMs: 86_400_000,
    });
    await bounces.ensureIndexes();
    intake = await startBounceSmtpListener({
      host: '127.0.0.1',
      port: 0,
      recordDeliveryReport: new RecordDeliveryReport({
        verp,
        bounces,
        metrics: noDeliverabilityMetrics,
        // No relay here: outbox messages are written, nobody publishes them.
        notifications: new MongoNotificationRepository(
          client,
          db,
          { append: async () => undefined },
          { notify: () => undefined },
        ),
        clock: () => new Date(),
      }),
      logger: captureLogger().logger,
    });
  });

  afterAll(async () => {
    await sink.stop();
    await intake.close();
    await client.close();
    await mongo?.stop();
  });

  /** What the delivery path will do once wired: VERP return path, List-Unsubscribe, DKIM. */
  const send = async (to: string, notificationId: string, kind: 'marketing' | 'transactional') => {
    // The notification the mail belongs to (the intake checks a DSN names one of its recipients).
    await db
      .collection<{ _id: string; recipient: string; cc: string[]; state: string }>('notifications')
      .insertOne({ _id: notificationId, recipient: to, cc: [], state: 'SENT' });
    return nodemailer
      .createTransport({
        url: sink.url,
        dkim: dkimTransportOption({
          privateKey: DKIM_PEM,
          selector: 'trellis',
          domain: 'trellis.test',
        }),
      })
      .sendMail({
        envelope: { from: verp.encode(notificationId), to: [to] },
        raw: composeMessage(
          {
            from: 'Trellis <noreply@trellis.test>',
            to,
            cc: [],
            subject: 'News',
            text: 'Hello',
            html: '',
            messageId: `<${notificationId}@trellis>`,
            headers:
              kind === 'marketing'
                ? headers.for(notificationId, { kind: 'marketing', list: 'newsletter' }, new Date())
                : headers.for(notificationId, { kind: 'transactional' }, new Date()),
          },
          'b0undary',
        ),
      });
  };

  it('a campaign mail carries List-Unsubscribe under a DKIM signature that verifies; a receipt has none', async () => {
    await send('ann@example.test', randomUUID(), 'marketing');
    await send('bob@example.test', randomUUID(), 'transactional');
    const campaign = await sink.waitForMessageTo('ann@example.test');
    const receipt = await sink.waitForMessageTo('bob@example.test');
    expect(campaign.dkim).toEqual([
      { domain: 'trellis.test', selector: 'trellis', result: 'pass', comment: '' },
    ]);
    const names = (m: typeof campaign) => m.headers.map((h) => h.name.toLowerCase());
    expect(names(campaign)).toEqual(
      expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post']),
    );
    expect(campaign.headers.find((h) => h.name.toLowerCase() === 'dkim-signature')?.value).toMatch(
      /h=[^;]*List-Unsubscribe:List-Unsubscribe-Post/i,
    );
    expect(names(receipt)).not.toContain('list-unsubscribe');
    expect(receipt.dkim).toMatchObject([{ result: 'pass' }]);
  });

  it('an asynchronous DSN through the intake finds its notification and suppresses the address', async () => {
    const notificationId = randomUUID();
    sink.bounceAsync(intake.url, { 'gone@example.test': { status: '5.1.1' } });
    await send('gone@example.test', notificationId, 'marketing');
    const suppression = await waitFor(
      () => db.collection<{ _id: string }>('suppressions').findOne({ _id: 'gone@example.test' }),
      { what: 'the bounce suppression' },
    );
    expect(suppression).toMatchObject({
      reason: 'HARD_BOUNCE',
      comment: expect.stringMatching(/^5\.1\.1 smtp; 550/),
    });
    expect(
      await db.collection('delivery_reports').findOne({ '_id.notification_id': notificationId }),
    ).toMatchObject({ _id: { recipient: 'gone@example.test', kind: 'hard' }, source: 'dsn' });
    // The notification moved SENT → BOUNCED once the intake accepted the DSN.
    await waitFor(
      async () =>
        (await db.collection('notifications').findOne({ _id: notificationId } as never))?.state ===
        'BOUNCED',
      { what: 'the notification BOUNCED' },
    );
    await waitFor(() => sink.sentDsns().length > 0, { what: 'the sink to log its DSN as sent' });
    expect(sink.sentDsns()).toMatchObject([{ recipient: 'gone@example.test', status: '5.1.1' }]);
  });

  it('soft bounces suppress only at the configured count', async () => {
    sink.bounceAsync(intake.url, { 'full@example.test': { status: '4.2.2' } });
    await send('full@example.test', randomUUID(), 'marketing');
    await waitFor(() =>
      db.collection('delivery_reports').countDocuments({ recipient: 'full@example.test' }),
    );
    expect(
      await db.collection<{ _id: string }>('suppressions').findOne({ _id: 'full@example.test' }),
    ).toBeNull();
    await send('full@example.test', randomUUID(), 'marketing');
    expect(
      await waitFor(() =>
        db.collection<{ _id: string }>('suppressions').findOne({ _id: 'full@example.test' }),
      ),
    ).toMatchObject({ reason: 'SOFT_BOUNCE', comment: expect.stringMatching(/^2 soft bounces/) });
  });

  it('refuses mail to a return path it did not issue at RCPT TO (550), so no DSN data is taken', async () => {
    const forged = `bounce+${randomUUID()}.0123456789abcdef@${BOUNCE_DOMAIN}`;
    await expect(
      nodemailer.createTransport(intake.url).sendMail({
        envelope: { from: '', to: [forged] },
        raw: 'From: MAILER-DAEMON@x.test\r\nSubject: dsn\r\n\r\nx\r\n',
      }),
    ).rejects.toMatchObject({ responseCode: 550 });
  });

  it('a DSN to a real return path that names someone else (forged by the recipient) suppresses no one', async () => {
    const notificationId = randomUUID();
    await send('mallory@example.test', notificationId, 'transactional');
    const forged = composeDsn({
      reportingMta: 'mx.example.test',
      returnPath: verp.encode(notificationId),
      recipient: 'victim@example.test',
      status: '5.1.1',
      diagnostic: 'smtp; 550 5.1.1 no such user',
      originalHeaders: `Message-ID: <${notificationId}@trellis>`,
    });
    await nodemailer.createTransport(intake.url).sendMail({
      envelope: { from: '', to: [verp.encode(notificationId)] },
      raw: forged,
    });
    expect(
      await db.collection<{ _id: string }>('suppressions').findOne({ _id: 'victim@example.test' }),
    ).toBeNull();
    expect(
      await db
        .collection('delivery_reports')
        .countDocuments({ '_id.notification_id': notificationId }),
    ).toBe(0);
  });
});
