import { ClientError, Status } from 'nice-grpc';
import { decodeEventEnvelope, notificationV1, topics, unpackEvent } from '@trellis/contracts';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { findHeader } from '@trellis/devstack/smtp';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { createKafka } from '@trellis/platform/messaging';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import {
  counterValue,
  errorInfo,
  findRecord,
  startInfra,
  startTestService,
  type Infra,
  type NotificationClient,
  type StartedService,
} from './support';

const { NotificationState: S } = notificationV1;

let infra: Infra;
let svc: StartedService;
let client: NotificationClient;
let telemetry: Telemetry;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  // A real tracer provider, so consumer spans carry trace ids into the mail headers.
  telemetry = startTelemetry({
    serviceName: 'notification-test',
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  infra = await startInfra();
  svc = await startTestService(infra, { EMAIL_MAX_ATTEMPTS: '4' });
  client = svc.client;
  await client.createTemplate({
    templateId: 'receipt',
    displayName: 'Receipt',
    subject: 'Receipt for {{name}}',
    textBody: 'Hello {{name}}, you paid {{amount}}. Your address: {{recipient.email}}',
    htmlBody: '<p>Hello <b>{{name}}</b></p>',
  });
});

afterAll(async () => {
  await svc?.stop();
  await infra?.stop();
  await telemetry?.shutdown();
});

async function finalState(id: string) {
  return waitFor(
    async () => {
      const { notification } = await client.getNotification({ notificationId: id });
      const n = notification!;
      return [
        S.NOTIFICATION_STATE_SENT,
        S.NOTIFICATION_STATE_FAILED,
        S.NOTIFICATION_STATE_SUPPRESSED,
      ].includes(n.state)
        ? n
        : undefined;
    },
    { what: `notification ${id} to reach a final state`, timeoutMs: 20_000 },
  );
}

function templateSend(to: string[], key: string, cc: string[] = []) {
  return notificationV1.SendEmailRequest.fromPartial({
    to,
    cc,
    template: { templateId: 'receipt', variables: { name: 'Ann', amount: 'EUR 12.50' } },
    idempotencyKey: key,
  });
}

describe('SendEmail and delivery', () => {
  it('queues at once, then the sink holds the rendered mail and the notification is SENT with its ids', async () => {
    const response = await client.sendEmail(
      templateSend(['ann@shop.test'], 'k-rendered', ['audit@shop.test', 'boss@shop.test']),
    );
    expect(response.notifications).toHaveLength(1);
    const queued = response.notifications[0];
    expect(queued.state).toBe(S.NOTIFICATION_STATE_QUEUED);
    expect(queued.messageId).toBe(`<${queued.id}@trellis>`);

    const mail = await infra.sink.waitForMessageTo('ann@shop.test');
    expect(mail.subject).toBe('Receipt for Ann');
    expect(mail.text).toBe('Hello Ann, you paid EUR 12.50. Your address: ann@shop.test');
    expect(mail.html).toBe('<p>Hello <b>Ann</b></p>');
    expect(mail.cc).toEqual(['audit@shop.test', 'boss@shop.test']);
    expect(mail.envelope.to).toEqual(['ann@shop.test', 'audit@shop.test', 'boss@shop.test']);
    expect(mail.messageId).toBe(queued.messageId);
    expect(findHeader(mail.headers, 'x-trellis-notification-id')).toBe(queued.id);
    // The operator's way from a mail to its trace: the delivery ran inside this trace.
    const traceId = findHeader(mail.headers, 'x-trellis-trace-id');
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(() =>
      spans
        .getFinishedSpans()
        .some(
          (s) => s.name === 'process notification.email.v1' && s.spanContext().traceId === traceId,
        ),
    );

    const sent = await finalState(queued.id);
    expect(sent.state).toBe(S.NOTIFICATION_STATE_SENT);
    expect(sent.attempts).toBe(1);
    expect(sent.smtpMessageId).toBe(mail.id);
    expect(sent.smtpResponse).toBe(`250 OK: queued as ${mail.id}`);
    expect(sent.subject).toBe('Receipt for Ann');
    expect(sent.sentAt).toBeInstanceOf(Date);
  });

  it('one notification per `to` address, each with the cc list; inline content', async () => {
    const { notifications } = await client.sendEmail({
      to: ['one@multi.test', 'two@multi.test'],
      cc: ['copy@multi.test'],
      inline: { subject: 'Hi', textBody: 'plain', htmlBody: '' },
      idempotencyKey: 'k-multi',
    });
    expect(notifications.map((n) => n.recipient)).toEqual(['one@multi.test', 'two@multi.test']);
    const mails = await infra.sink.waitForMessages((m) => m.subject === 'Hi', { count: 2 });
    expect(mails.map((m) => m.envelope.to).sort()).toEqual([
      ['one@multi.test', 'copy@multi.test'],
      ['two@multi.test', 'copy@multi.test'],
    ]);
  });

  it('non-ASCII subjects and bodies arrive intact', async () => {
    const subject = 'Grüße, Zoë — your receipt № 42 is ready for download ✓ (long enough to fold)';
    await client.sendEmail({
      to: ['unicode@intl.test'],
      inline: { subject, textBody: 'Ünïcödé\nline two', htmlBody: '<p>Ünïcödé</p>' },
      idempotencyKey: 'k-unicode',
    });
    const mail = await infra.sink.waitForMessageTo('unicode@intl.test');
    expect(mail.subject).toBe(subject);
    expect(mail.text).toBe('Ünïcödé\nline two');
    expect(mail.html).toBe('<p>Ünïcödé</p>');
  });

  it('idempotency: same key + same request → same notifications; different request → ABORTED', async () => {
    const first = await client.sendEmail(templateSend(['idem@shop.test'], 'k-idem'));
    const again = await client.sendEmail(templateSend(['idem@shop.test'], 'k-idem'));
    expect(again.notifications.map((n) => n.id)).toEqual(first.notifications.map((n) => n.id));
    const err = await client
      .sendEmail(templateSend(['other@shop.test'], 'k-idem'))
      .catch((e: unknown) => e as ClientError);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).code).toBe(Status.ABORTED);
    expect(errorInfo(err)?.reason).toBe('IDEMPOTENCY_KEY_REUSED');
    await finalState(first.notifications[0].id);
    expect(infra.sink.messagesTo('idem@shop.test')).toHaveLength(1);
  });

  it('validates: bad addresses, duplicates, missing variables (INVALID_ARGUMENT, nothing queued)', async () => {
    const bad = await client
      .sendEmail({ ...templateSend(['x@ok.test', 'not-an-address', 'x@ok.test'], 'k-bad') })
      .catch((e: unknown) => e as ClientError);
    expect((bad as ClientError).code).toBe(Status.INVALID_ARGUMENT);
    expect((bad as ClientError).details).toContain('to[1]');
    expect((bad as ClientError).details).toContain('to[2]: duplicate address');
    const missing = await client
      .sendEmail({
        to: ['m@ok.test'],
        template: { templateId: 'receipt', variables: { name: 'Ann' } },
        idempotencyKey: 'k-missing',
      })
      .catch((e: unknown) => e as ClientError);
    expect((missing as ClientError).code).toBe(Status.INVALID_ARGUMENT);
    expect((missing as ClientError).details).toContain('variables.amount');
    const { notifications } = await client.listNotifications({ recipient: 'm@ok.test' });
    expect(notifications).toHaveLength(0);
  });

  it('a recipient answered 451 twice then 250 → SENT after 3 attempts with backoff', async () => {
    infra.sink.failRecipients({ 'later@retry.test': { code: 451, times: 2 } });
    const { notifications } = await client.sendEmail({
      to: ['later@retry.test'],
      inline: { subject: 'Retry me', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'k-451',
    });
    const sent = await finalState(notifications[0].id);
    expect(sent.state).toBe(S.NOTIFICATION_STATE_SENT);
    expect(sent.attempts).toBe(3);
    expect(infra.sink.messagesTo('later@retry.test')).toHaveLength(1);
    const rejections = infra.sink.rejections().filter((r) => r.address === 'later@retry.test');
    expect(rejections.map((r) => r.code)).toEqual([451, 451]);
    // Exponential backoff: base 50 ms ±20 %, then 100 ms ±20 % between the attempts.
    const [r1, r2] = rejections.map((r) => Date.parse(r.at));
    const accepted = Date.parse(infra.sink.messagesTo('later@retry.test')[0].receivedAt);
    expect(r2 - r1).toBeGreaterThanOrEqual(40);
    expect(accepted - r2).toBeGreaterThanOrEqual(80);
  });

  it('a recipient answered 550 → FAILED after 1 attempt with the SMTP error', async () => {
    infra.sink.failRecipients({ 'gone@bounce.test': { code: 550 } });
    const { notifications } = await client.sendEmail({
      to: ['gone@bounce.test'],
      inline: { subject: 'Bounce', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'k-550',
    });
    const failed = await finalState(notifications[0].id);
    expect(failed.state).toBe(S.NOTIFICATION_STATE_FAILED);
    expect(failed.attempts).toBe(1);
    expect(failed.lastError).toMatch(/^550 /);
    expect(infra.sink.rejections().filter((r) => r.address === 'gone@bounce.test')).toHaveLength(1);
  });

  it('retries exhausted → FAILED and the work item goes to the DLQ topic', async () => {
    infra.sink.failRecipients({ 'busy@dlq.test': { code: 421 } });
    const { notifications } = await client.sendEmail({
      to: ['busy@dlq.test'],
      inline: { subject: 'Never', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'k-exhausted',
    });
    const failed = await finalState(notifications[0].id);
    expect(failed.state).toBe(S.NOTIFICATION_STATE_FAILED);
    expect(failed.attempts).toBe(4);
    const dlq = await findRecord(infra.brokers, topics.emailDlq, failed.id);
    const event = unpackEvent(decodeEventEnvelope(dlq.value!));
    expect(event.eventType).toBe('trellis.notification.v1.EmailRequested');
    expect(event.payload).toMatchObject({ notificationId: failed.id, attempt: 4 });
    expect((event.payload as notificationV1.EmailRequested).lastError).toMatch(/^421 /);
  });

  it('a suppressed recipient → SUPPRESSED, no mail; cc on the list is dropped', async () => {
    await client.unsubscribe({ email: 'Quiet@Shop.test', reason: 0, comment: 'asked' });
    await client.unsubscribe({ email: 'quietcc@shop.test', reason: 0, comment: '' });
    const { notifications } = await client.sendEmail({
      to: ['quiet@shop.test', 'loud@shop.test'],
      cc: ['quietcc@shop.test'],
      inline: { subject: 'Suppression', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'k-suppressed',
    });
    expect(notifications[0].state).toBe(S.NOTIFICATION_STATE_SUPPRESSED);
    expect(notifications[0].lastError).toBe('SUPPRESSED');
    const loud = await finalState(notifications[1].id);
    expect(loud.state).toBe(S.NOTIFICATION_STATE_SENT);
    const [mail] = infra.sink.messagesTo('loud@shop.test');
    expect(mail.envelope.to).toEqual(['loud@shop.test']);
    expect(infra.sink.messagesTo('quiet@shop.test')).toHaveLength(0);
    expect(infra.sink.messagesTo('quietcc@shop.test')).toHaveLength(0);
  });

  it('an address suppressed while its mail waits for a retry → SUPPRESSED at the next attempt, no mail', async () => {
    infra.sink.failRecipients({ 'late@optout.test': { code: 451, times: 3 } });
    const { notifications } = await client.sendEmail({
      to: ['late@optout.test'],
      inline: { subject: 'Late opt-out', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'k-late-optout',
    });
    await waitFor(() => infra.sink.rejections().some((r) => r.address === 'late@optout.test'));
    await client.unsubscribe({ email: 'late@optout.test', reason: 0, comment: 'changed my mind' });
    const final = await finalState(notifications[0].id);
    expect(final.state).toBe(S.NOTIFICATION_STATE_SUPPRESSED);
    expect(final.lastError).toBe('SUPPRESSED');
    expect(infra.sink.messagesTo('late@optout.test')).toHaveLength(0);
  });

  it('the same Kafka event delivered twice → one mail', async () => {
    const { notifications } = await client.sendEmail({
      to: ['twice@dup.test'],
      inline: { subject: 'Once', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'k-twice',
    });
    const id = notifications[0].id;
    await finalState(id);
    // The very record the relay published, delivered twice more.
    const original = await findRecord(infra.brokers, topics.email, id);
    const { logger } = captureLogger('dup-producer');
    const kafka = createKafka({ brokers: infra.brokers.split(','), clientId: 'dup', logger });
    const producer = kafka.producer();
    try {
      const skippedBefore = await counterValue(
        svc.service.metricsUrl,
        'notification_emails_total',
        {
          result: 'skipped',
        },
      );
      await producer.connect();
      const copy = { key: id, value: original.value, headers: original.headers };
      await producer.send({ topic: topics.email, messages: [copy, copy] });
      await waitFor(
        async () =>
          (await counterValue(svc.service.metricsUrl, 'notification_emails_total', {
            result: 'skipped',
          })) >=
          skippedBefore + 2,
        { what: 'both redeliveries to be handled' },
      );
    } finally {
      await producer.disconnect();
    }
    expect(infra.sink.messagesTo('twice@dup.test')).toHaveLength(1);
    const { notification } = await client.getNotification({ notificationId: id });
    expect(notification!.attempts).toBe(1);
  });

  it('lists notifications newest first with filters and paging', async () => {
    const { notifications } = await client.sendEmail({
      to: ['p1@page.test', 'p2@page.test', 'p3@page.test'],
      inline: { subject: 'Paged', textBody: 'x', htmlBody: '' },
      idempotencyKey: 'k-page',
    });
    await Promise.all(notifications.map((n) => finalState(n.id)));
    const first = await client.listNotifications({ pageSize: 2, state: S.NOTIFICATION_STATE_SENT });
    expect(first.notifications).toHaveLength(2);
    expect(first.nextPageToken).not.toBe('');
    const second = await client.listNotifications({
      pageSize: 2,
      state: S.NOTIFICATION_STATE_SENT,
      pageToken: first.nextPageToken,
    });
    const seen = [...first.notifications, ...second.notifications];
    expect(new Set(seen.map((n) => n.id)).size).toBe(seen.length);
    const times = seen.map((n) => n.createdAt!.getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const one = await client.listNotifications({ recipient: 'P2@page.test' });
    expect(one.notifications.map((n) => n.recipient)).toEqual(['p2@page.test']);
    const badToken = await client
      .listNotifications({ pageToken: first.nextPageToken })
      .catch((e: unknown) => e as ClientError);
    expect((badToken as ClientError).code).toBe(Status.INVALID_ARGUMENT);
    expect((badToken as ClientError).details).toContain('page_token');
  });
});
