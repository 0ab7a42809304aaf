import type { EventPayload, EventType } from '@trellis/contracts';

/** An open transaction, opaque to use cases; repositories of the same adapter understand it. */
export interface Tx {
  readonly __transaction: unique symbol;
}

/** An event to publish through the transactional outbox. */
export type OutgoingEvent = {
  [K in EventType]: {
    topic: string;
    eventType: K;
    payload: EventPayload<K>;
    aggregateId: string;
    aggregateType: string;
    /**
     * W3C trace context of the work that caused the event, when a group commit writes the events
     * of many callers in one transaction; unset: the context active at publish.
     */
    trace?: Record<string, string>;
  };
}[EventType];

export interface UnitOfWork {
  /** Runs `work` in one transaction (rerun on write conflicts); wakes the outbox relay after commit. */
  run<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Appends events to the outbox inside `tx`. */
  publish(tx: Tx, events: OutgoingEvent[]): Promise<void>;
}

/** Consumer idempotency: `work` and the record of `eventId` commit together, once. */
export interface InboxPort {
  processOnce(
    eventId: string,
    eventType: string,
    work: (tx: Tx) => Promise<void>,
  ): Promise<'processed' | 'duplicate'>;
}
