import type { MongoClient } from 'mongodb';
import { type Inbox, type Outbox, withTransaction } from '@trellis/platform/mongo';
import type { OutboxRelay } from '@trellis/platform/messaging';
import { toOutboxMessage } from '@trellis/platform/messaging';
import type { InboxPort, OutgoingEvent, Tx, UnitOfWork } from '../../app/unit-of-work.port';
import { asTx, sessionOf } from './session';

/** Transactions through platform withTransaction; events through the outbox; relay woken after commit. */
export class MongoUnitOfWork implements UnitOfWork {
  constructor(
    private readonly client: MongoClient,
    private readonly outbox: Outbox,
    private readonly relay: Pick<OutboxRelay, 'notify'>,
  ) {}

  async run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await withTransaction(this.client, (session) => work(asTx(session)));
    this.relay.notify();
    return result;
  }

  async publish(tx: Tx, events: OutgoingEvent[]): Promise<void> {
    const session = sessionOf(tx);
    if (!session) throw new Error('publish needs a transaction');
    await this.outbox.append(
      session,
      events.map((e) => ({
        ...toOutboxMessage(e.topic, e.eventType, e.payload as never, {
          id: e.aggregateId,
          type: e.aggregateType,
        }),
        headers: e.trace,
      })),
    );
  }
}

/** InboxPort over the platform Inbox. */
export class MongoInbox implements InboxPort {
  constructor(
    readonly inbox: Inbox,
    private readonly relay: Pick<OutboxRelay, 'notify'>,
  ) {}

  async processOnce(eventId: string, eventType: string, work: (tx: Tx) => Promise<void>) {
    const outcome = await this.inbox.processOnce(eventId, eventType, (session) =>
      work(asTx(session)),
    );
    if (outcome === 'processed') this.relay.notify();
    return outcome;
  }
}
