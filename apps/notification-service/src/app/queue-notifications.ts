import type { EmailContent, Notification, NotificationSource } from '../domain/notification';
import { createHash } from 'node:crypto';
import { messageIdFor, notificationIdFor } from '../domain/notification';
import type { NotificationDeps } from './deps';
import { emailRequested, notificationSuppressed } from './outgoing-events';
import type { OutgoingEvent, Tx } from './unit-of-work.port';

export interface NotificationSpec {
  recipient: string;
  cc: string[];
  content: EmailContent;
  contextVariables: Record<string, unknown>;
  source: NotificationSource;
  sourceRef: string;
  /** Unique across notifications: a second spec with the same key queues nothing. */
  dedupeKey: string;
  campaignId?: string;
  traceId: string;
  /** The rendered subject when known at queue time. */
  subject?: string;
}

/**
 * Inside `tx`: one notification per spec, QUEUED with its EmailRequested in the outbox, or
 * SUPPRESSED (with NotificationSuppressed) when the recipient is on the suppression list. A
 * notification's id derives from its dedupe key, so specs whose notification exists are skipped. Returns what was written, in spec order.
 */
/** The id of the notification a dedupe key stands for. */
export function notificationIdOf(dedupeKey: string): string {
  return notificationIdFor(dedupeKey, (text) => createHash('sha256').update(text).digest());
}

export async function queueNotifications(
  deps: Pick<
    NotificationDeps,
    'notifications' | 'suppressions' | 'uow' | 'clock' | 'newId' | 'settings'
  >,
  tx: Tx,
  specs: NotificationSpec[],
  /** `fresh`: the caller knows none exists yet (skips the existence check). */
  options: { fresh?: boolean } = {},
): Promise<Notification[]> {
  if (specs.length === 0) return [];
  const now = deps.clock();
  const suppressed = await deps.suppressions.suppressed(
    specs.map((s) => s.recipient),
    tx,
  );
  const notifications = specs.map((spec): Notification => {
    const id = notificationIdFor(spec.dedupeKey, (text) =>
      createHash('sha256').update(text).digest(),
    );
    const isSuppressed = suppressed.has(spec.recipient);
    return {
      id,
      recipient: spec.recipient,
      cc: spec.cc,
      templateId: spec.content.kind === 'template' ? spec.content.templateId : '',
      templateVersion: spec.content.kind === 'template' ? spec.content.templateVersion : 0,
      subject: spec.subject ?? (spec.content.kind === 'inline' ? spec.content.inline.subject : ''),
      state: isSuppressed ? 'SUPPRESSED' : 'QUEUED',
      attempts: 0,
      lastError: isSuppressed ? 'SUPPRESSED' : '',
      smtpResponse: '',
      messageId: messageIdFor(id, deps.settings.messageIdDomain),
      smtpMessageId: '',
      campaignId: spec.campaignId ?? '',
      source: spec.source,
      sourceRef: spec.sourceRef,
      traceId: spec.traceId,
      dedupeKey: spec.dedupeKey,
      createdAt: now,
      updatedAt: now,
    };
  });
  const { skipped } = await deps.notifications.insertMany(tx, notifications, options);
  const written = notifications.filter((n) => !skipped.has(n.dedupeKey));
  const events: OutgoingEvent[] = [];
  specs.forEach((spec, i) => {
    const n = notifications[i];
    if (skipped.has(n.dedupeKey)) return;
    events.push(
      n.state === 'SUPPRESSED'
        ? notificationSuppressed(n, now)
        : emailRequested(n, spec.content, spec.contextVariables),
    );
  });
  await deps.uow.publish(tx, events);
  return written;
}
