import { PreconditionFailedError } from '@trellis/platform/errors';
import { type Campaign, cancel, end } from './campaign';
import {
  bounce,
  complain,
  type DeliveryContent,
  fail,
  markSent,
  type Notification,
  queue,
  scheduleRetry,
  suppress,
} from './notification';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:00:05Z');
const content: DeliveryContent = {
  content: { kind: 'inline', inline: { subject: 'Hi', textBody: 'body', htmlBody: '' } },
  contextVariables: { recipient: { email: 'a@example.com', name: '' } },
};

function queued(suppressed = false) {
  return queue(
    {
      id: 'n-1',
      recipient: 'a@example.com',
      cc: [],
      ...content,
      source: 'API',
      sourceRef: 'key',
      dedupeKey: 'api:key:0',
      traceId: '',
    },
    suppressed,
    'mail.example.com',
    t0,
  );
}

/** As the repository's claim leaves it: SENDING for attempt 1. */
const sending = (): Notification => ({ ...queued().notification, state: 'SENDING', attempts: 1 });

describe('notification delivery transitions', () => {
  it('queue: QUEUED with its first EmailRequested, or SUPPRESSED with NotificationSuppressed', () => {
    const { notification, events } = queued();
    expect(notification).toMatchObject({
      state: 'QUEUED',
      attempts: 0,
      subject: 'Hi',
      messageId: '<n-1@mail.example.com>',
    });
    expect(events).toEqual([
      expect.objectContaining({ type: 'EmailRequested', route: 'first', attempt: 1 }),
    ]);
    const suppressed = queued(true);
    expect(suppressed.notification).toMatchObject({
      state: 'SUPPRESSED',
      lastError: 'SUPPRESSED',
    });
    expect(suppressed.events.map((e) => e.type)).toEqual(['NotificationSuppressed']);
  });

  it('markSent: SENDING → SENT with the queue id of the reply', () => {
    const { notification, events } = markSent(
      sending(),
      1,
      { subject: 'Hi', smtpResponse: '250 2.0.0 Ok: queued as ABC123' },
      t1,
    );
    expect(notification).toMatchObject({
      state: 'SENT',
      smtpMessageId: 'ABC123',
      sentAt: t1,
      updatedAt: t1,
      lastError: '',
    });
    expect(events).toEqual([{ type: 'NotificationSent', notification, at: t1 }]);
  });

  it('scheduleRetry: SENDING → QUEUED with the next attempt on the retry route', () => {
    const { notification, events } = scheduleRetry(
      sending(),
      1,
      { error: '421 busy', subject: 'Hi', notBefore: t1, next: content },
      t0,
    );
    expect(notification).toMatchObject({
      state: 'QUEUED',
      lastError: '421 busy',
      nextAttemptAt: t1,
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'EmailRequested',
        route: 'retry',
        attempt: 2,
        notBefore: t1,
      }),
    ]);
  });

  it('fail: FAILED with NotificationFailed; exhausted retries also dead-letter the work item', () => {
    const permanent = fail(sending(), 1, { error: '550 no', permanent: true }, t1);
    expect(permanent.notification).toMatchObject({ state: 'FAILED', lastError: '550 no' });
    expect(permanent.events.map((e) => e.type)).toEqual(['NotificationFailed']);
    const exhausted = fail(
      sending(),
      1,
      { error: '421 busy', permanent: false, deadLetter: content },
      t1,
    );
    expect(exhausted.events).toEqual([
      expect.objectContaining({ type: 'NotificationFailed', permanent: false }),
      expect.objectContaining({ type: 'EmailRequested', route: 'dead', attempt: 1 }),
    ]);
  });

  it('an attempt that no longer holds the claim changes nothing and publishes nothing', () => {
    const n = sending();
    const taken = { ...n, attempts: 2 };
    const finished = { ...n, state: 'SENT' as const };
    for (const current of [taken, finished]) {
      expect(suppress(current, 1, t1)).toEqual({ notification: current, events: [] });
      expect(markSent(current, 1, { subject: '', smtpResponse: '250' }, t1).events).toEqual([]);
      expect(fail(current, 1, { error: 'x', permanent: true }, t1).notification).toBe(current);
    }
  });
});

describe('marketing mail, bounces and complaints', () => {
  const newsletter = (suppressed: false | 'address' | 'category') =>
    queue(
      {
        id: 'n-2',
        recipient: 'a@example.com',
        cc: ['c@example.com'],
        ...content,
        source: 'CAMPAIGN',
        sourceRef: 'c-1',
        dedupeKey: 'campaign:c-1:a@example.com',
        category: 'newsletter',
        traceId: '',
      },
      suppressed,
      'mail.example.com',
      t0,
    ).notification;
  const sent = (): Notification => ({ ...newsletter(false), state: 'SENT', attempts: 1 });

  it('queue keeps the category (transactional: none) and says why a mail is suppressed', () => {
    expect(queued().notification.category).toBe('');
    expect(newsletter(false)).toMatchObject({ state: 'QUEUED', category: 'newsletter' });
    expect(newsletter('category')).toMatchObject({
      state: 'SUPPRESSED',
      lastError: 'SUPPRESSED: opted out of newsletter',
    });
    expect(newsletter('address').lastError).toBe('SUPPRESSED');
    const claimed = { ...newsletter(false), state: 'SENDING' as const, attempts: 1 };
    expect(suppress(claimed, 1, t1, 'category').notification.lastError).toBe(
      'SUPPRESSED: opted out of newsletter',
    );
  });

  it('bounce: SENT → BOUNCED with NotificationBounced, only for its own recipient', () => {
    const report = { recipient: 'A@Example.com', status: '5.1.1', diagnostic: '550 gone' };
    const { notification, events } = bounce(sent(), { ...report, permanent: true }, t1);
    expect(notification).toMatchObject({ state: 'BOUNCED', lastError: '5.1.1 550 gone' });
    expect(events).toEqual([
      {
        type: 'NotificationBounced',
        notification,
        status: '5.1.1',
        diagnostic: '550 gone',
        permanent: true,
        at: t1,
      },
    ]);
    // A cc's bounce, a second report, or a mail never sent changes nothing.
    const cc = { ...report, recipient: 'c@example.com', permanent: true };
    expect(bounce(sent(), cc, t1).events).toEqual([]);
    expect(bounce(notification, { ...report, permanent: true }, t1).events).toEqual([]);
    expect(bounce(sending(), { ...report, permanent: true }, t1).events).toEqual([]);
  });

  it('complain: SENT → COMPLAINED with NotificationComplained', () => {
    const { notification, events } = complain(
      sent(),
      { recipient: 'a@example.com', feedbackType: 'abuse' },
      t1,
    );
    expect(notification).toMatchObject({ state: 'COMPLAINED', lastError: 'complaint: abuse' });
    expect(events.map((e) => e.type)).toEqual(['NotificationComplained']);
    expect(
      complain(notification, { recipient: 'a@example.com', feedbackType: 'abuse' }, t1).events,
    ).toEqual([]);
  });
});

describe('campaign transitions', () => {
  const campaign = (state: Campaign['state']): Campaign => ({
    id: 'c-1',
    templateId: 't',
    templateVersion: 1,
    state,
    total: 0,
    jobId: 'j-1',
    recipients: { kind: 'domain', domain: 'example.com' },
    cc: [],
    variables: {},
    category: 'marketing',
    idempotencyKey: '',
    requestHash: '',
    cancelRequested: false,
    traceId: '',
    createdAt: t0,
    updatedAt: t0,
  });

  it('cancel: PENDING ends at once, RUNNING is asked to stop, finished ones refuse', () => {
    expect(cancel(campaign('PENDING'), t1).campaign).toMatchObject({
      state: 'CANCELLED',
      cancelRequested: true,
      finishedAt: t1,
    });
    expect(cancel(campaign('RUNNING'), t1).campaign).toMatchObject({
      state: 'RUNNING',
      cancelRequested: true,
    });
    expect(() => cancel(campaign('SUCCEEDED'), t1)).toThrow(PreconditionFailedError);
  });

  it('end: a campaign already in a final state stays as it is', () => {
    const done = campaign('SUCCEEDED');
    expect(end(done, 'FAILED', t1).campaign).toBe(done);
    expect(end(campaign('RUNNING'), 'FAILED', t1).campaign).toMatchObject({
      state: 'FAILED',
      finishedAt: t1,
    });
  });
});
