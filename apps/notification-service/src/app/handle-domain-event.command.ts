import { isValidEmail } from '../domain/email-address';
import type { NewNotification } from '../domain/notification';
import type { ContactRepository } from './ports/contact.repository.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { SuppressionRepository } from './ports/suppression.repository.port';
import type { TemplateRepository } from './ports/template.repository.port';
import { queueTransitions } from './support/queue-notifications';
import { recipientVariables } from './support/recipient-variables';
import { findTemplate } from './support/template-lookup';

export interface HandleDomainEventDeps {
  notifications: NotificationRepository;
  templates: TemplateRepository;
  contacts: ContactRepository;
  suppressions: SuppressionRepository;
  runtime: Runtime;
  settings: { messageIdDomain: string };
}

/** One mail an event asks for (the Kafka adapter reads them off account/job events). */
export interface EventMail {
  /** Unique per event: the notification's dedupe key is `event:<event id>:<role>`. */
  role: string;
  to: string;
  templateId: string;
  variables: Record<string, unknown>;
}

export interface HandleDomainEventInput {
  eventId: string;
  eventType: string;
  mails: EventMail[];
  traceId: string;
}

/**
 * Event-driven mail (welcome, transfer receipts, frozen notice, dead-job alert): the latest
 * version of each template, one notification per mail. The notifications are written in the
 * inbox transaction of the event, so a redelivered event queues nothing.
 */
export class HandleDomainEvent {
  constructor(private readonly deps: HandleDomainEventDeps) {}

  async execute(input: HandleDomainEventInput): Promise<'queued' | 'duplicate' | 'ignored'> {
    const { deps } = this;
    const mails = input.mails.filter((m) => isValidEmail(m.to));
    if (mails.length === 0) return 'ignored';
    const templates = new Map<string, { version: number; category: string }>();
    for (const m of mails) {
      if (!templates.has(m.templateId))
        templates.set(m.templateId, await findTemplate(deps.templates, m.templateId, 0));
    }
    const recipients = [...new Set(mails.map((m) => m.to.toLowerCase()))];
    const contacts = new Map((await deps.contacts.byEmails(recipients)).map((c) => [c.email, c]));
    const specs: Array<Omit<NewNotification, 'id'>> = mails.map((m) => {
      const to = m.to.toLowerCase();
      return {
        recipient: to,
        cc: [],
        content: {
          kind: 'template',
          templateId: m.templateId,
          templateVersion: templates.get(m.templateId)!.version,
          variables: m.variables,
        },
        // The seeded templates are transactional; one an operator marked marketing is unsubscribable
        // (the pre-send check skips recipients opted out of its category).
        category: templates.get(m.templateId)!.category,
        contextVariables: recipientVariables(to, contacts.get(to)),
        source: 'EVENT',
        sourceRef: input.eventId,
        dedupeKey: `event:${input.eventId}:${m.role}`,
        traceId: input.traceId,
      };
    });
    const suppressed = await deps.suppressions.suppressed(recipients);
    const { created } = await deps.notifications.create(
      queueTransitions(specs, suppressed, deps.settings.messageIdDomain, deps.runtime.now()),
      { inboxEvent: { id: input.eventId, type: input.eventType } },
    );
    return created ? 'queued' : 'duplicate';
  }
}
