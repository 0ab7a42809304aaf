import {
  type FieldViolation,
  replayable,
  requestHash as hashOf,
  validIdempotencyKey,
  ValidationError,
} from '@trellis/platform/errors';
import { optionalCategory } from '../domain/category';
import { isValidEmail } from '../domain/email-address';
import type {
  EmailContent,
  InlineContent,
  NewNotification,
  Notification,
} from '../domain/notification';
import type { Template } from '../domain/template';
import type { TemplateRenderer } from '../domain/template-engine';
import type { ContactRepository } from './ports/contact.repository.port';
import type { ListSuppressionStore } from './ports/list-suppression.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { SuppressionRepository } from './ports/suppression.repository.port';
import type { TemplateRepository } from './ports/template.repository.port';
import type { SendLimiter } from './ports/send-limiter.port';
import { enforceCallerLimit } from './support/caller-limit';
import { notificationIdOf, queueTransitions } from './support/queue-notifications';
import { recipientVariables } from './support/recipient-variables';
import { findTemplate } from './support/template-lookup';

export interface SendEmailDeps {
  notifications: NotificationRepository;
  templates: TemplateRepository;
  contacts: ContactRepository;
  suppressions: SuppressionRepository;
  listSuppressions: Pick<ListSuppressionStore, 'suppressedForList'>;
  renderer: TemplateRenderer;
  callerLimit: Pick<SendLimiter, 'tryCaller'>;
  runtime: Runtime;
  settings: {
    /** Most `to` addresses per request. */
    maxRecipients: number;
    /** Right-hand side of Message-ID headers: `<notification-id@domain>`. */
    messageIdDomain: string;
  };
}

export interface SendEmailInput {
  to: string[];
  cc: string[];
  template?: { templateId: string; templateVersion: number; variables: Record<string, unknown> };
  inline?: InlineContent;
  idempotencyKey: string;
  /** Absent or '' = the template's category if it is marketing, else transactional. */
  category?: string;
  caller: string;
  traceId: string;
}

const MAX_CC = 50;

/**
 * Queues one notification per `to` address (each with the cc list) and their EmailRequested
 * events in one transaction, and returns at once. Same key + same request → the original
 * notifications; same key + different request → ABORTED IDEMPOTENCY_KEY_REUSED.
 */
export class SendEmail {
  constructor(private readonly deps: SendEmailDeps) {}

  async execute(input: SendEmailInput): Promise<Notification[]> {
    const { deps } = this;
    await enforceCallerLimit(deps.callerLimit, input.caller, 'send_email_per_caller');
    const { to, cc } = validateAddresses(input, deps.settings.maxRecipients);
    const declared = optionalCategory(input.category ?? '');
    const key = validIdempotencyKey('idempotency_key', input.idempotencyKey, true);
    const { content, template } = await this.resolveContent(input);
    // Marketing mail names its category (unsubscribable per category); none = transactional.
    const category = declared || template?.category || '';
    // Requests without a category hash as before #22, so their replays still match.
    const requestHash = hashOf(category ? { to, cc, content, category } : { to, cc, content });

    const contacts = new Map((await deps.contacts.byEmails(to)).map((c) => [c.email, c]));
    if (template) {
      // Fail fast on missing variables: render once for the first recipient (the rest differ only in `recipient`).
      deps.renderer.render(template, {
        ...(content.kind === 'template' ? content.variables : {}),
        ...recipientVariables(to[0], contacts.get(to[0])),
      });
    }
    const specs: Array<Omit<NewNotification, 'id'>> = to.map((recipient, i) => ({
      recipient,
      cc,
      content,
      contextVariables: recipientVariables(recipient, contacts.get(recipient)),
      source: 'API',
      sourceRef: key,
      dedupeKey: `api:${key}:${i}`,
      category,
      traceId: input.traceId,
    }));
    try {
      const now = deps.runtime.now();
      const [suppressed, optedOut] = await Promise.all([
        deps.suppressions.suppressed(to),
        category ? deps.listSuppressions.suppressedForList(to, category) : new Set<string>(),
      ]);
      // The idempotency record commits with the notifications: a key used before fails the
      // create at once (duplicate key), and the original answer is replayed below.
      const { notifications } = await deps.notifications.create(
        queueTransitions(specs, suppressed, deps.settings.messageIdDomain, now, optedOut),
        {
          sendRequest: {
            key,
            requestHash,
            notificationIds: specs.map((spec) => notificationIdOf(spec.dedupeKey)),
            createdAt: now,
          },
        },
      );
      return notifications;
    } catch (err) {
      const replayed = await this.replayOf(key, requestHash);
      if (replayed) return replayed;
      throw err;
    }
  }

  private async replayOf(key: string, requestHash: string): Promise<Notification[] | undefined> {
    const found = await this.deps.notifications.findSendRequest(key);
    if (!found) return undefined;
    const record = replayable(found, requestHash, 'NOTIFICATION', key);
    const byId = new Map(
      (await this.deps.notifications.findByIds(record.notificationIds)).map((n) => [n.id, n]),
    );
    return record.notificationIds
      .map((id) => byId.get(id))
      .filter((n): n is Notification => n !== undefined);
  }

  private async resolveContent(
    input: SendEmailInput,
  ): Promise<{ content: EmailContent; template?: Template }> {
    if (input.template) {
      // Fix the version at request time so every mail of the request renders the same template.
      const template = await findTemplate(
        this.deps.templates,
        input.template.templateId,
        input.template.templateVersion,
        'template.template_id',
      );
      return {
        content: {
          kind: 'template',
          templateId: template.id,
          templateVersion: template.version,
          variables: input.template.variables,
        },
        template,
      };
    }
    return { content: { kind: 'inline', inline: input.inline! } };
  }
}

function validateAddresses(
  input: SendEmailInput,
  maxRecipients: number,
): { to: string[]; cc: string[] } {
  const violations: FieldViolation[] = [];
  if (input.to.length === 0)
    violations.push({ field: 'to', description: 'at least one address is required' });
  if (input.to.length > maxRecipients) {
    violations.push({ field: 'to', description: `at most ${maxRecipients} addresses per request` });
  }
  const seen = new Set<string>();
  const to = input.to.map((raw, i) => {
    const email = raw.trim().toLowerCase();
    if (!isValidEmail(email))
      violations.push({ field: `to[${i}]`, description: 'must be a valid email address' });
    else if (seen.has(email))
      violations.push({ field: `to[${i}]`, description: 'duplicate address' });
    seen.add(email);
    return email;
  });
  if (input.cc.length > MAX_CC)
    violations.push({ field: 'cc', description: `at most ${MAX_CC} addresses` });
  const cc = input.cc.map((raw, i) => {
    const email = raw.trim().toLowerCase();
    if (!isValidEmail(email))
      violations.push({ field: `cc[${i}]`, description: 'must be a valid email address' });
    return email;
  });
  if (!input.template && !input.inline) {
    violations.push({ field: 'content', description: 'template or inline is required' });
  }
  if (input.inline) {
    const { subject, textBody, htmlBody } = input.inline;
    if (!subject.trim() || subject.length > 998 || /[\r\n]/.test(subject)) {
      violations.push({
        field: 'inline.subject',
        description: 'is required: one line of 1-998 characters',
      });
    }
    if (!textBody && !htmlBody) {
      violations.push({
        field: 'inline.text_body',
        description: 'text_body or html_body is required',
      });
    }
  }
  if (input.template && !input.template.templateId) {
    violations.push({ field: 'template.template_id', description: 'is required' });
  }
  if (violations.length > 0) throw new ValidationError(violations);
  return { to, cc };
}
