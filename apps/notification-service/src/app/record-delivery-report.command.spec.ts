import type { BounceRecord, ComplaintRecord } from '../domain/delivery-report';
import type { BounceRecorder } from './ports/bounce-recorder.port';
import type { Notification, Transition } from '../domain/notification';
import type { NotificationRepository } from './ports/notification.repository.port';
import { RecordDeliveryReport } from './record-delivery-report.command';
import { KeyRing } from './support/key-ring';
import { VerpAddresses } from './support/verp';
import type { DeliverabilityMetrics } from './ports/deliverability-metrics.port';

class MemoryBounces implements BounceRecorder {
  readonly bounces: BounceRecord[] = [];
  readonly complaints: ComplaintRecord[] = [];
  async recordBounce(b: BounceRecord) {
    const created = !this.bounces.some(
      (r) =>
        r.notificationId === b.notificationId && r.recipient === b.recipient && r.kind === b.kind,
    );
    if (created) this.bounces.push(b);
    return { created };
  }
  async recordComplaint(c: ComplaintRecord) {
    this.complaints.push(c);
    return { created: true };
  }
}

/** Counts what the use case reports to the deliverability counters. */
const counted: string[] = [];
const metrics: DeliverabilityMetrics = {
  bounced: (kind, source) => counted.push(`bounced ${kind} ${source}`),
  complained: (source) => counted.push(`complained ${source}`),
  unsubscribed: (source) => counted.push(`unsubscribed ${source}`),
};

const at = new Date('2026-12-01T00:00:00Z');
const id = '0b6c9f52-3f7e-4c55-9d7a-3f0b1a2c4d5e';
const sent = { id, recipient: 'ann@example.com', cc: ['bob@example.com'], state: 'SENT' };
/** The notification as the transitions left it. */
let stored: Notification;
const notifications: Pick<NotificationRepository, 'findById' | 'update'> = {
  findById: async (n) => (n === id ? stored : undefined),
  update: async (_id: string, change: (n: Notification) => Transition) => {
    stored = change(stored).notification;
    return stored;
  },
};
beforeEach(() => {
  stored = { ...sent, category: '', lastError: '' } as unknown as Notification;
});
const verp = new VerpAddresses(KeyRing.parse('k1:first-secret-0123456789'), 'bounce.trellis.test');

describe('RecordDeliveryReport', () => {
  beforeEach(() => {
    counted.length = 0;
  });
  it('records the bounces of a DSN sent to a VERP return path, skipping delivered entries', async () => {
    const bounces = new MemoryBounces();
    const useCase = new RecordDeliveryReport({
      verp,
      bounces,
      metrics,
      notifications,
      clock: () => at,
    });
    const result = await useCase.execute({
      via: 'dsn',
      returnPath: verp.encode(id),
      reports: [
        {
          recipient: 'Ann@Example.com',
          action: 'failed',
          status: '5.1.1',
          diagnostic: 'smtp; 550 5.1.1 no such user',
        },
        { recipient: 'bob@example.com', action: 'delivered', status: '2.0.0', diagnostic: '' },
      ],
    });
    expect(result).toEqual({ ok: true, notificationId: id, bounces: 1, complaints: 0 });
    expect(counted).toEqual(['bounced hard dsn']);
    expect(stored).toMatchObject({
      state: 'BOUNCED',
      lastError: '5.1.1 smtp; 550 5.1.1 no such user',
    });
    expect(bounces.bounces).toEqual([
      {
        notificationId: id,
        recipient: 'ann@example.com',
        kind: 'hard',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 no such user',
        source: 'dsn',
        at,
      },
    ]);
    // A redelivered DSN records nothing new and is counted once.
    counted.length = 0;
    await useCase.execute({
      via: 'dsn',
      returnPath: verp.encode(id),
      reports: [
        { recipient: 'ann@example.com', action: 'failed', status: '5.1.1', diagnostic: '' },
      ],
    });
    expect(bounces.bounces).toHaveLength(1);
    expect(counted).toEqual([]);
  });

  it('refuses a DSN to a return path it did not issue', async () => {
    const bounces = new MemoryBounces();
    const useCase = new RecordDeliveryReport({
      verp,
      bounces,
      metrics,
      notifications,
      clock: () => at,
    });
    const forged = `bounce+${id}.0123456789abcdef@bounce.trellis.test`;
    expect(
      await useCase.execute({
        via: 'dsn',
        returnPath: forged,
        reports: [
          { recipient: 'ann@example.com', action: 'failed', status: '5.1.1', diagnostic: '' },
        ],
      }),
    ).toEqual({ ok: false, reason: 'unknown-return-path' });
    expect(bounces.bounces).toEqual([]);
  });

  it('records webhook bounces and complaints', async () => {
    const bounces = new MemoryBounces();
    const useCase = new RecordDeliveryReport({
      verp,
      bounces,
      metrics,
      notifications,
      clock: () => at,
    });
    await useCase.execute({
      via: 'webhook',
      notificationId: id,
      bounce: {
        recipient: 'ann@example.com',
        action: 'failed',
        status: '4.2.2',
        diagnostic: 'mailbox full',
      },
    });
    await useCase.execute({
      via: 'webhook',
      notificationId: id,
      complaint: { recipient: 'Bob@Example.com', feedbackType: 'abuse' },
    });
    expect(bounces.bounces).toMatchObject([{ kind: 'soft', source: 'webhook', status: '4.2.2' }]);
    // The bounce moved the notification (its To); the complaint came from a cc: no second change.
    expect(stored).toMatchObject({ state: 'BOUNCED', lastError: '4.2.2 mailbox full' });
    expect(bounces.complaints).toEqual([
      {
        notificationId: id,
        recipient: 'bob@example.com',
        feedbackType: 'abuse',
        source: 'webhook',
        at,
      },
    ]);
  });

  it('records nothing for someone who was not a recipient of that notification, or an unknown notification', async () => {
    const bounces = new MemoryBounces();
    const useCase = new RecordDeliveryReport({
      verp,
      bounces,
      metrics,
      notifications,
      clock: () => at,
    });
    // The return path is visible to the recipient: a forged DSN must not suppress a third party.
    expect(
      await useCase.execute({
        via: 'dsn',
        returnPath: verp.encode(id),
        reports: [
          { recipient: 'victim@example.com', action: 'failed', status: '5.1.1', diagnostic: '' },
        ],
      }),
    ).toEqual({ ok: true, notificationId: id, bounces: 0, complaints: 0 });
    expect(
      await useCase.execute({
        via: 'webhook',
        notificationId: id,
        complaint: { recipient: 'victim@example.com', feedbackType: 'abuse' },
      }),
    ).toEqual({ ok: false, reason: 'not-a-recipient' });
    const other = 'ffffffff-3f7e-4c55-9d7a-3f0b1a2c4d5e';
    expect(
      await useCase.execute({
        via: 'dsn',
        returnPath: verp.encode(other),
        reports: [
          { recipient: 'ann@example.com', action: 'failed', status: '5.1.1', diagnostic: '' },
        ],
      }),
    ).toEqual({ ok: false, reason: 'unknown-notification' });
    expect(bounces.bounces).toEqual([]);
    expect(bounces.complaints).toEqual([]);
    expect(stored.state).toBe('SENT');
  });

  it('marks a sent notification COMPLAINED when its recipient complains', async () => {
    const useCase = new RecordDeliveryReport({
      verp,
      bounces: new MemoryBounces(),
      metrics,
      notifications,
      clock: () => at,
    });
    await useCase.execute({
      via: 'webhook',
      notificationId: id,
      complaint: { recipient: 'ann@example.com', feedbackType: 'abuse' },
    });
    expect(stored).toMatchObject({ state: 'COMPLAINED', lastError: 'complaint: abuse' });
  });
});
