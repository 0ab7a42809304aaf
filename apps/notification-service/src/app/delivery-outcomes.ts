import type { Notification, NotificationState } from '../domain/notification';
import { allSucceeded, GroupCommit } from '@trellis/platform/batching';
import { traceHeaders } from '@trellis/platform/telemetry';
import type { NotificationRepository } from './notification.repository.port';
import type { OutgoingEvent, UnitOfWork } from './unit-of-work.port';

export interface DeliveryOutcome {
  id: string;
  /** Applied only if the notification is still in this state at this attempt count. */
  expected: { state: NotificationState; attempts: number };
  changes: Partial<Notification>;
  /** Published with the change (nothing is published if the guard did not match). */
  events: OutgoingEvent[];
}

/**
 * Records delivery outcomes with group commit: outcomes recorded concurrently (one consumer batch)
 * are written in one transaction — one guarded bulk update, one outbox insert — instead of one
 * transaction each. Each caller learns whether its guard matched.
 */
export class DeliveryOutcomes {
  private readonly outcomes: GroupCommit<DeliveryOutcome, boolean>;

  constructor(uow: UnitOfWork, notifications: Pick<NotificationRepository, 'transitionMany'>) {
    this.outcomes = new GroupCommit(
      async (outcomes) =>
        allSucceeded(
          await uow.run(async (tx) => {
            const moved = await notifications.transitionMany(tx, outcomes);
            await uow.publish(
              tx,
              outcomes.flatMap((o, i) => (moved[i] ? o.events : [])),
            );
            return moved;
          }),
        ),
      { maxBatch: 500 },
    );
  }

  record(outcome: DeliveryOutcome): Promise<boolean> {
    // The batch's transaction runs in the first caller's context; each event keeps its own.
    const trace = traceHeaders();
    return this.outcomes.submit({
      ...outcome,
      events: outcome.events.map((event) => ({ ...event, trace: event.trace ?? trace })),
    });
  }
}
