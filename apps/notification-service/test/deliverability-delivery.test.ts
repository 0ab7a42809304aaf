import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { startSmtpSink, type SmtpSink } from '@trellis/devstack/smtp';
import { waitFor } from '@trellis/platform/testing';
import {
  counterValue,
  startInfra,
  startTestService,
  type Infra,
  type StartedService,
} from './support';

// Own broker: service instances on one broker share the delivery consumer groups.
let infra: Infra;
beforeAll(async () => {
  infra = await startInfra();
});
afterAll(async () => {
  await infra?.stop();
});

describe('DKIM signing in the delivery path', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let sink: SmtpSink;
  let svc: StartedService;

  beforeAll(async () => {
    sink = await startSmtpSink({
      port: 0,
      httpPort: false,
      dkimDnsRecords: {
        'mail2026._domainkey.signed.test': `v=DKIM1; k=rsa; p=${publicKey
          .export({ type: 'spki', format: 'der' })
          .toString('base64')}`,
      },
    });
    svc = await startTestService(infra, {
      SMTP_URL: sink.url,
      MAIL_FROM: 'Trellis <noreply@signed.test>',
      DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      DKIM_SELECTOR: 'mail2026',
      DKIM_DOMAIN: 'signed.test',
    });
  });
  afterAll(async () => {
    await svc?.stop();
    await sink?.stop();
  });

  it('a mail sent through the service carries a DKIM signature the sink verifies', async () => {
    await svc.client.sendEmail({
      to: ['ann@dkim.test'],
      inline: { subject: 'Signed', textBody: 'Hello', htmlBody: '<p>Hello</p>' },
      idempotencyKey: 'dkim-1',
    });
    const mail = await sink.waitForMessageTo('ann@dkim.test', 15_000);
    expect(mail.dkim).toEqual([
      { domain: 'signed.test', selector: 'mail2026', result: 'pass', comment: '' },
    ]);
  });
});

describe('send limits shared by two replicas (SHARED_LIMITER_ENABLED)', () => {
  const replicas: StartedService[] = [];

  afterAll(async () => {
    for (const r of replicas) await r.stop();
  });

  it('two replicas together stay within a per-domain limit of 20/s over 10 s (within 10 %)', async () => {
    const env = {
      MONGODB_DATABASE: `notification_replicas_${randomUUID().slice(0, 8)}`,
      SHARED_LIMITER_ENABLED: 'true',
      DOMAIN_RATE_PER_SECOND: '20',
    };
    replicas.push(await startTestService(infra, env), await startTestService(infra, env));
    const [a, b] = replicas;
    const sent = (r: StartedService) =>
      counterValue(r.service.metricsUrl, 'notification_emails_total', { result: 'sent' });
    // Warm-up to distinct domains until both replicas deliver: both hold partitions of the topic.
    let round = 0;
    await waitFor(
      async () => {
        round++;
        await a.client.sendEmail({
          to: Array.from({ length: 12 }, (_, i) => `w${i}@warm${round}-${i}.test`),
          inline: { subject: 'warm-up', textBody: 'x', htmlBody: '' },
          idempotencyKey: `warm-${round}`,
        });
        return (await sent(a)) > 0 && (await sent(b)) > 0;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const [sentA, sentB] = [await sent(a), await sent(b)];

    // 300 mails to one domain: 15 s of work at 20/s, queued through both replicas.
    const to = Array.from({ length: 300 }, (_, i) => `r${i}@limited.test`);
    await a.client.sendEmail({
      to: to.slice(0, 150),
      inline: { subject: 'limited', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'limited-a',
    });
    await b.client.sendEmail({
      to: to.slice(150),
      inline: { subject: 'limited', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'limited-b',
    });
    const limited = () => infra.sink.messages((m) => m.subject === 'limited');
    const first = Date.parse((await waitFor(() => limited()[0], { timeoutMs: 20_000 })).receivedAt);
    await waitFor(() => limited().some((m) => Date.parse(m.receivedAt) >= first + 10_000), {
      timeoutMs: 30_000,
    });
    const inTenSeconds = limited().filter((m) => Date.parse(m.receivedAt) < first + 10_000).length;
    expect(inTenSeconds).toBeGreaterThanOrEqual(180);
    expect(inTenSeconds).toBeLessThanOrEqual(220);
    // Both replicas sent part of them: the limit held across processes, not inside one.
    expect((await sent(a)) - sentA).toBeGreaterThan(0);
    expect((await sent(b)) - sentB).toBeGreaterThan(0);
  }, 90_000);
});
