import { type notificationV1, topics } from '@trellis/contracts';
import { DomainError } from '@trellis/platform/errors';
import { type RetryPolicy, retryDelayMs, type SendOutcome } from '../domain/delivery-policy';
import { emailDomain } from '../domain/email-address';
import { type Notification, smtpMessageIdOf } from '../domain/notification';
import type { RenderedContent } from '../domain/template-engine';
import type { NotificationDeps } from './deps';
import type { MailSender } from './mail-sender.port';
import {
  contentOf,
  emailRequested,
  notificationFailed,
  notificationSent,
  notificationSuppressed,
} from './outgoing-events';
import type { DeliveryOutcomes } from './delivery-outcomes';
import type { SendThrottle } from './send-throttle';

export interface DeliveryDeps extends NotificationDeps {
  mailSender: MailSender;
  throttle: SendThrottle;
  outcomes: DeliveryOutcomes;
  delivery: {
    retry: RetryPolicy;
    /** How long a SENDING claim holds before a redelivery may take the attempt over. */
    claimMs: number;
  };
}

export type DeliveryResult = 'sent' | 'retry' | 'failed' | 'suppressed' | 'skipped';

/**
 * One delivery attempt of an EmailRequested: claim the notification for this attempt (a state
 * guard, so a redelivered message never sends a second mail), render, wait for the send rate,
 * send with the notification's deterministic Message-ID, then record SENT / retry / FAILED with
 * the matching outcome event in one transaction.
 */
export async function deliverEmail(
  deps: DeliveryDeps,
  request: notificationV1.EmailRequested,
  activeTraceId: string,
): Promise<DeliveryResult> {
  const attempt = Math.max(1, request.attempt);
  const claimed = await deps.notifications.claimForSend(
    request.notificationId,
    attempt,
    deps.clock(),
    deps.delivery.claimMs,
  );
  if (!claimed) return 'skipped';

  const suppressed = await deps.suppressions.suppressed([claimed.recipient, ...claimed.cc]);
  if (suppressed.has(claimed.recipient)) {
    await finish(
      deps,
      claimed,
      attempt,
      { state: 'SUPPRESSED', lastError: 'SUPPRESSED' },
      (n, at) => notificationSuppressed(n, at),
    );
    return 'suppressed';
  }

  let rendered: RenderedContent;
  try {
    rendered = await render(deps, request);
  } catch (err) {
    const error = err instanceof DomainError ? `${err.reason}: ${err.message}` : String(err);
    await fail(deps, claimed, attempt, error, true);
    return 'failed';
  }

  const traceId = claimed.traceId || activeTraceId;
  await deps.throttle.acquire(emailDomain(claimed.recipient));
  const outcome: SendOutcome = await deps.mailSender.send({
    to: claimed.recipient,
    cc: claimed.cc.filter((c) => !suppressed.has(c)),
    subject: rendered.subject,
    text: rendered.textBody,
    html: rendered.htmlBody,
    messageId: claimed.messageId,
    headers: {
      ...(traceId ? { 'X-Trellis-Trace-Id': traceId } : {}),
      'X-Trellis-Notification-Id': claimed.id,
    },
  });

  if (outcome.ok) {
    const sentAt = deps.clock();
    await finish(
      deps,
      claimed,
      attempt,
      {
        state: 'SENT',
        subject: rendered.subject,
        smtpResponse: outcome.response,
        smtpMessageId: smtpMessageIdOf(outcome.response),
        lastError: '',
        sentAt,
        nextAttemptAt: undefined,
      },
      (n, at) => notificationSent(n, at),
    );
    return 'sent';
  }
  if (outcome.permanent) {
    await fail(deps, claimed, attempt, outcome.error, true, rendered.subject);
    return 'failed';
  }
  if (attempt >= deps.delivery.retry.maxAttempts) {
    await fail(deps, claimed, attempt, outcome.error, false, rendered.subject, request);
    return 'failed';
  }
  const notBefore = new Date(deps.clock().getTime() + retryDelayMs(deps.delivery.retry, attempt));
  const content = contentOf(request);
  await deps.outcomes.record({
    id: claimed.id,
    expected: { state: 'SENDING', attempts: attempt },
    changes: {
      state: 'QUEUED',
      lastError: outcome.error,
      subject: rendered.subject,
      nextAttemptAt: notBefore,
      updatedAt: deps.clock(),
    },
    events: content
      ? [
          emailRequested(
            claimed,
            content,
            (request.contextVariables ?? {}) as Record<string, unknown>,
            {
              topic: topics.emailRetry,
              attempt: attempt + 1,
              notBefore,
              lastError: outcome.error,
            },
          ),
        ]
      : [],
  });
  return 'retry';
}

async function render(
  deps: DeliveryDeps,
  request: notificationV1.EmailRequested,
): Promise<RenderedContent> {
  const content = contentOf(request);
  if (!content) throw new Error('EmailRequested without content');
  if (content.kind === 'inline') return content.inline;
  const template = await deps.templates.version(content.templateId, content.templateVersion);
  if (!template) {
    throw new Error(`template ${content.templateId} version ${content.templateVersion} not found`);
  }
  return deps.renderer.render(template, {
    ...content.variables,
    ...((request.contextVariables ?? {}) as Record<string, unknown>),
  });
}

async function finish(
  deps: DeliveryDeps,
  claimed: Notification,
  attempt: number,
  changes: Partial<Notification>,
  event: (n: Notification, at: Date) => ReturnType<typeof notificationSent>,
): Promise<void> {
  const at = deps.clock();
  await deps.outcomes.record({
    id: claimed.id,
    expected: { state: 'SENDING', attempts: attempt },
    changes: { ...changes, updatedAt: at },
    events: [event({ ...claimed, ...changes, attempts: attempt }, at)],
  });
}

/** FAILED with NotificationFailed; exhausted retries also go to the DLQ topic. */
async function fail(
  deps: DeliveryDeps,
  claimed: Notification,
  attempt: number,
  error: string,
  permanent: boolean,
  subject?: string,
  exhausted?: notificationV1.EmailRequested,
): Promise<void> {
  const at = deps.clock();
  const changes: Partial<Notification> = {
    state: 'FAILED',
    lastError: error,
    nextAttemptAt: undefined,
    updatedAt: at,
    ...(subject ? { subject } : {}),
  };
  const events = [
    notificationFailed({ ...claimed, ...changes, attempts: attempt }, error, permanent, at),
  ];
  const content = exhausted ? contentOf(exhausted) : undefined;
  if (exhausted && content) {
    events.push(
      emailRequested(
        claimed,
        content,
        (exhausted.contextVariables ?? {}) as Record<string, unknown>,
        {
          topic: topics.emailDlq,
          attempt,
          lastError: error,
        },
      ),
    );
  }
  await deps.outcomes.record({
    id: claimed.id,
    expected: { state: 'SENDING', attempts: attempt },
    changes,
    events,
  });
}
