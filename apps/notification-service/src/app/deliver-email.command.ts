import { DomainError } from '@trellis/platform/errors';
import { isSlowDownSmtpCode, type RetryPolicy, retryDelayMs } from '../domain/delivery-policy';
import { emailDomain } from '../domain/email-address';
import {
  type DeliveryContent,
  fail,
  markSent,
  scheduleRetry,
  suppress,
} from '../domain/notification';
import { enhancedStatusOf } from '../domain/delivery-report';
import type { BounceRecorder } from './ports/bounce-recorder.port';
import type { ListSuppressionStore } from './ports/list-suppression.port';
import type { ListUnsubscribeHeaders } from './support/list-unsubscribe-headers';
import type { VerpAddresses } from './support/verp';
import type { RenderedContent, TemplateRenderer } from '../domain/template-engine';
import type { MailSender } from './ports/mail-sender.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import type { Runtime } from './ports/runtime.port';
import type { SendLimiter } from './ports/send-limiter.port';
import type { SuppressionRepository } from './ports/suppression.repository.port';
import type { TemplateRepository } from './ports/template.repository.port';
import type { DeliverabilityMetrics } from './ports/deliverability-metrics.port';

export interface DeliverEmailDeps {
  notifications: NotificationRepository;
  suppressions: SuppressionRepository;
  templates: TemplateRepository;
  renderer: TemplateRenderer;
  mailSender: MailSender;
  throttle: Pick<SendLimiter, 'acquire' | 'slowDown'>;
  runtime: Runtime;
  settings: {
    retry: RetryPolicy;
    /** How long a SENDING claim holds before a redelivery may take the attempt over. */
    claimMs: number;
  };
  /** Per-category opt-outs: marketing mail to a recipient opted out of its category is not sent. */
  listSuppressions: Pick<ListSuppressionStore, 'isSuppressedForList'>;
  /** SMTP failures at send time: 5.x.x suppresses the address, exhausted 4.x.x retries count. */
  bounces: Pick<BounceRecorder, 'recordBounce'>;
  metrics: Pick<DeliverabilityMetrics, 'bounced'>;
  /** List-Unsubscribe headers for marketing mail (UNSUBSCRIBE_KEYS); none without. */
  unsubscribeHeaders?: ListUnsubscribeHeaders;
  /** VERP return paths naming the notification (BOUNCE_KEYS); MAIL_FROM without. */
  verp?: VerpAddresses;
}

/** One EmailRequested work item (the Kafka adapter decodes it). */
export interface DeliverEmailInput {
  notificationId: string;
  attempt: number;
  /** Missing on a malformed work item: the attempt fails permanently. */
  content?: DeliveryContent;
  /** The trace of the consumer's work, for mails queued without one. */
  activeTraceId: string;
}

export type DeliveryResult = 'sent' | 'retry' | 'failed' | 'suppressed' | 'skipped';

/**
 * One delivery attempt of an EmailRequested: claim the notification for this attempt (a state
 * guard, so a redelivered message never sends a second mail), render, wait for the send rate,
 * send with the notification's deterministic Message-ID, then record the outcome (domain
 * transition: SENT / retry / FAILED / SUPPRESSED with its events) through the repository. A stale
 * attempt (another delivery finished it) changes nothing: the transition is a no-op.
 */
export class DeliverEmail {
  constructor(private readonly deps: DeliverEmailDeps) {}

  async execute(input: DeliverEmailInput): Promise<DeliveryResult> {
    const { deps } = this;
    const attempt = Math.max(1, input.attempt);
    const claimed = await deps.notifications.claimForSend(
      input.notificationId,
      attempt,
      deps.runtime.now(),
      deps.settings.claimMs,
    );
    if (!claimed) return 'skipped';

    const suppressed = await deps.suppressions.suppressed([claimed.recipient, ...claimed.cc]);
    if (suppressed.has(claimed.recipient)) {
      await deps.notifications.update(claimed.id, (n) => suppress(n, attempt, deps.runtime.now()));
      return 'suppressed';
    }
    const { category } = claimed;
    if (
      category &&
      (await deps.listSuppressions.isSuppressedForList(claimed.recipient, category))
    ) {
      await deps.notifications.update(claimed.id, (n) =>
        suppress(n, attempt, deps.runtime.now(), 'category'),
      );
      return 'suppressed';
    }

    let rendered: RenderedContent;
    try {
      rendered = await this.render(input.content);
    } catch (err) {
      const error = err instanceof DomainError ? `${err.reason}: ${err.message}` : String(err);
      await deps.notifications.update(claimed.id, (n) =>
        fail(n, attempt, { error, permanent: true, content: input.content }, deps.runtime.now()),
      );
      return 'failed';
    }

    const traceId = claimed.traceId || input.activeTraceId;
    const domain = emailDomain(claimed.recipient);
    await deps.throttle.acquire(domain);
    const outcome = await deps.mailSender.send({
      to: claimed.recipient,
      cc: claimed.cc.filter((c) => !suppressed.has(c)),
      subject: rendered.subject,
      text: rendered.textBody,
      html: rendered.htmlBody,
      messageId: claimed.messageId,
      headers: {
        ...(traceId ? { 'X-Trellis-Trace-Id': traceId } : {}),
        'X-Trellis-Notification-Id': claimed.id,
        // Marketing mail only: transactional mail (no category) is not unsubscribable.
        ...(category
          ? deps.unsubscribeHeaders?.for(
              claimed.id,
              { kind: 'marketing', list: category },
              deps.runtime.now(),
            )
          : {}),
      },
      returnPath: deps.verp?.encode(claimed.id),
    });

    // 421/451: the domain asks us to slow down; every replica sends to it at the lower rate a while.
    if (!outcome.ok && isSlowDownSmtpCode(outcome.code)) await deps.throttle.slowDown(domain);
    const { subject } = rendered;
    const now = deps.runtime.now();
    if (outcome.ok) {
      await deps.notifications.update(claimed.id, (n) =>
        markSent(n, attempt, { subject, smtpResponse: outcome.response }, now),
      );
      return 'sent';
    }
    // Attempts of this delivery round: a redriven notification starts a fresh retry budget.
    const roundAttempt = attempt - (claimed.attemptsBeforeRedrive ?? 0);
    if (outcome.permanent || roundAttempt >= deps.settings.retry.maxAttempts) {
      // The server's verdict on the address: a 5xx suppresses it, a 4xx after every retry counts
      // towards SOFT_BOUNCE_LIMIT. Connection errors and timeouts (no code) say nothing about it.
      if (outcome.code !== undefined) {
        const kind = outcome.permanent ? 'hard' : 'soft';
        const { created } = await deps.bounces.recordBounce({
          notificationId: claimed.id,
          recipient: claimed.recipient,
          kind,
          status: enhancedStatusOf(outcome.error, outcome.code),
          diagnostic: outcome.error,
          source: 'smtp',
          at: now,
        });
        if (created) deps.metrics.bounced(kind, 'smtp');
      }
      // Exhausted retries also go to the DLQ topic.
      const deadLetter = outcome.permanent ? undefined : input.content;
      await deps.notifications.update(claimed.id, (n) =>
        fail(
          n,
          attempt,
          {
            error: outcome.error,
            permanent: outcome.permanent,
            subject,
            deadLetter,
            content: input.content,
          },
          now,
        ),
      );
      return 'failed';
    }
    const notBefore = new Date(now.getTime() + retryDelayMs(deps.settings.retry, roundAttempt));
    await deps.notifications.update(claimed.id, (n) =>
      scheduleRetry(
        n,
        attempt,
        { error: outcome.error, subject, notBefore, next: input.content },
        now,
      ),
    );
    return 'retry';
  }

  private async render(content: DeliveryContent | undefined): Promise<RenderedContent> {
    if (!content) throw new Error('EmailRequested without content');
    if (content.content.kind === 'inline') return content.content.inline;
    const { templateId, templateVersion, variables } = content.content;
    const template = await this.deps.templates.version(templateId, templateVersion);
    if (!template) {
      throw new Error(`template ${templateId} version ${templateVersion} not found`);
    }
    return this.deps.renderer.render(template, { ...variables, ...content.contextVariables });
  }
}
