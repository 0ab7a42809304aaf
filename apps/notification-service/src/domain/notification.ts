export type NotificationState =
  'QUEUED' | 'SENDING' | 'SENT' | 'FAILED' | 'SUPPRESSED' | 'BOUNCED' | 'COMPLAINED';
export type NotificationSource = 'API' | 'EVENT' | 'CAMPAIGN';

export const FINAL_STATES: readonly NotificationState[] = [
  'SENT',
  'FAILED',
  'SUPPRESSED',
  'BOUNCED',
  'COMPLAINED',
];

/**
 * Why a notification is SUPPRESSED: its address is on the suppression list (`true` / 'address'),
 * or its recipient opted out of the mail's category ('category').
 */
export type SuppressedBecause = 'address' | 'category';

function suppressionError(n: Pick<Notification, 'category'>, because: SuppressedBecause): string {
  return because === 'category' ? `SUPPRESSED: opted out of ${n.category}` : 'SUPPRESSED';
}

/** Literal content of an email (no Handlebars). */
export interface InlineContent {
  subject: string;
  textBody: string;
  htmlBody: string;
}

/** What to send: a template version with variables, or literal content. */
export type EmailContent =
  | {
      kind: 'template';
      templateId: string;
      templateVersion: number;
      variables: Record<string, unknown>;
    }
  | { kind: 'inline'; inline: InlineContent };

/** One email to one recipient (plus cc) and its delivery state. */
export interface Notification {
  id: string;
  recipient: string;
  cc: string[];
  templateId: string;
  templateVersion: number;
  subject: string;
  state: NotificationState;
  attempts: number;
  lastError: string;
  smtpResponse: string;
  messageId: string;
  smtpMessageId: string;
  campaignId: string;
  /** Marketing mail's category (unsubscribable per category); '' for transactional mail. */
  category: string;
  source: NotificationSource;
  sourceRef: string;
  traceId: string;
  /** Unique: `api:<key>:<n>`, `event:<event id>:<recipient>` or `campaign:<id>:<recipient>`. */
  dedupeKey: string;
  createdAt: Date;
  updatedAt: Date;
  sentAt?: Date;
  nextAttemptAt?: Date;
  /** What a FAILED notification would have sent, kept so RedriveNotifications can re-queue it. */
  failedContent?: DeliveryContent;
  /** Attempts made before the last redrive: a redriven mail gets a fresh retry budget. */
  attemptsBeforeRedrive?: number;
}

/**
 * The id of the notification a dedupe key stands for: a UUID (version 8, RFC 9562) derived from the
 * key's SHA-256, so "does this notification exist" is a primary-key lookup.
 */
export function notificationIdFor(dedupeKey: string, sha256: (text: string) => Buffer): string {
  const b = Buffer.from(sha256(dedupeKey).subarray(0, 16));
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The deterministic Message-ID header of a notification, so a resend is recognisable. */
export function messageIdFor(notificationId: string, domain: string): string {
  return `<${notificationId}@${domain}>`;
}

/**
 * The server's id of an accepted message: the queue id of "... queued as ABC123", or the whole
 * reply when it names none.
 */
export function smtpMessageIdOf(response: string): string {
  const match = /queued as ([^\s;,]+)/i.exec(response);
  return match ? match[1] : response;
}

/** A notification to create: everything but its state, which `queue` decides. */
export interface NewNotification {
  id: string;
  recipient: string;
  cc: string[];
  content: EmailContent;
  /** Per-recipient variables rendered with the content (recipient, contact). */
  contextVariables: Record<string, unknown>;
  source: NotificationSource;
  sourceRef: string;
  dedupeKey: string;
  campaignId?: string;
  /** Marketing mail's category; absent or '' for transactional mail. */
  category?: string;
  traceId: string;
  /** The rendered subject when known at queue time. */
  subject?: string;
}

/**
 * What a delivery state change publishes (mapped to trellis.notification.v1 events by the outbox
 * adapter). `EmailRequested` is the delivery work item: `first` attempt, a `retry`, or `dead`
 * (exhausted, to the DLQ).
 */
export type NotificationEvent =
  | {
      type: 'EmailRequested';
      notification: Notification;
      content: EmailContent;
      contextVariables: Record<string, unknown>;
      route: 'first' | 'retry' | 'dead';
      attempt: number;
      notBefore?: Date;
      lastError: string;
    }
  | { type: 'NotificationSent'; notification: Notification; at: Date }
  | {
      type: 'NotificationFailed';
      notification: Notification;
      error: string;
      permanent: boolean;
      at: Date;
    }
  | { type: 'NotificationSuppressed'; notification: Notification; at: Date }
  | {
      type: 'NotificationBounced';
      notification: Notification;
      status: string;
      diagnostic: string;
      permanent: boolean;
      at: Date;
    }
  | { type: 'NotificationComplained'; notification: Notification; feedbackType: string; at: Date };

export interface Transition {
  notification: Notification;
  events: NotificationEvent[];
}

/** The content and variables an attempt renders; a retry or dead letter carries them on. */
export interface DeliveryContent {
  content: EmailContent;
  contextVariables: Record<string, unknown>;
}

/**
 * A new notification: QUEUED with its EmailRequested, or SUPPRESSED (with NotificationSuppressed)
 * when the recipient is on the suppression list.
 */
export function queue(
  spec: NewNotification,
  suppressed: boolean | SuppressedBecause,
  messageIdDomain: string,
  now: Date,
): Transition {
  const { content } = spec;
  const because: SuppressedBecause | undefined =
    suppressed === true ? 'address' : suppressed === false ? undefined : suppressed;
  const category = spec.category ?? '';
  const notification: Notification = {
    id: spec.id,
    recipient: spec.recipient,
    cc: spec.cc,
    templateId: content.kind === 'template' ? content.templateId : '',
    templateVersion: content.kind === 'template' ? content.templateVersion : 0,
    subject: spec.subject ?? (content.kind === 'inline' ? content.inline.subject : ''),
    state: because ? 'SUPPRESSED' : 'QUEUED',
    attempts: 0,
    lastError: because ? suppressionError({ category }, because) : '',
    smtpResponse: '',
    messageId: messageIdFor(spec.id, messageIdDomain),
    smtpMessageId: '',
    campaignId: spec.campaignId ?? '',
    category,
    source: spec.source,
    sourceRef: spec.sourceRef,
    traceId: spec.traceId,
    dedupeKey: spec.dedupeKey,
    createdAt: now,
    updatedAt: now,
  };
  return {
    notification,
    events: [
      because
        ? { type: 'NotificationSuppressed', notification, at: now }
        : {
            type: 'EmailRequested',
            notification,
            content,
            contextVariables: spec.contextVariables,
            route: 'first',
            attempt: 1,
            lastError: '',
          },
    ],
  };
}

/**
 * Delivery outcomes apply only to the attempt that holds the SENDING claim: anything else (a
 * concurrent delivery took the attempt over and finished it) is left as it is, publishing nothing.
 */
function holdsClaim(n: Notification, attempt: number): boolean {
  return n.state === 'SENDING' && n.attempts === attempt;
}

const unchanged = (notification: Notification): Transition => ({ notification, events: [] });

/** SENDING → SUPPRESSED: the recipient was suppressed (or opted out) after the mail was queued. */
export function suppress(
  n: Notification,
  attempt: number,
  now: Date,
  because: SuppressedBecause = 'address',
): Transition {
  if (!holdsClaim(n, attempt)) return unchanged(n);
  const notification: Notification = {
    ...n,
    state: 'SUPPRESSED',
    lastError: suppressionError(n, because),
    updatedAt: now,
  };
  return { notification, events: [{ type: 'NotificationSuppressed', notification, at: now }] };
}

/** SENDING → SENT with the server's reply. */
export function markSent(
  n: Notification,
  attempt: number,
  sent: { subject: string; smtpResponse: string },
  now: Date,
): Transition {
  if (!holdsClaim(n, attempt)) return unchanged(n);
  const notification: Notification = {
    ...n,
    state: 'SENT',
    subject: sent.subject,
    smtpResponse: sent.smtpResponse,
    smtpMessageId: smtpMessageIdOf(sent.smtpResponse),
    lastError: '',
    sentAt: now,
    nextAttemptAt: undefined,
    updatedAt: now,
  };
  return { notification, events: [{ type: 'NotificationSent', notification, at: now }] };
}

/**
 * SENDING → FAILED with NotificationFailed; `deadLetter` (retries exhausted) also sends the work
 * item to the DLQ.
 */
export function fail(
  n: Notification,
  attempt: number,
  failure: {
    error: string;
    permanent: boolean;
    subject?: string;
    deadLetter?: DeliveryContent;
    /** The attempt's content, kept for a redrive. */
    content?: DeliveryContent;
  },
  now: Date,
): Transition {
  if (!holdsClaim(n, attempt)) return unchanged(n);
  const notification: Notification = {
    ...n,
    state: 'FAILED',
    lastError: failure.error,
    nextAttemptAt: undefined,
    updatedAt: now,
    failedContent: failure.content,
    ...(failure.subject ? { subject: failure.subject } : {}),
  };
  const events: NotificationEvent[] = [
    {
      type: 'NotificationFailed',
      notification,
      error: failure.error,
      permanent: failure.permanent,
      at: now,
    },
  ];
  if (failure.deadLetter) {
    events.push({
      type: 'EmailRequested',
      notification,
      ...failure.deadLetter,
      route: 'dead',
      attempt,
      lastError: failure.error,
    });
  }
  return { notification, events };
}

/** SENDING → QUEUED for attempt + 1 at `notBefore`, with the retry's EmailRequested. */
export function scheduleRetry(
  n: Notification,
  attempt: number,
  retry: { error: string; subject: string; notBefore: Date; next?: DeliveryContent },
  now: Date,
): Transition {
  if (!holdsClaim(n, attempt)) return unchanged(n);
  const notification: Notification = {
    ...n,
    state: 'QUEUED',
    lastError: retry.error,
    subject: retry.subject,
    nextAttemptAt: retry.notBefore,
    updatedAt: now,
  };
  return {
    notification,
    events: retry.next
      ? [
          {
            type: 'EmailRequested',
            notification,
            ...retry.next,
            route: 'retry',
            attempt: attempt + 1,
            notBefore: retry.notBefore,
            lastError: retry.error,
          },
        ]
      : [],
  };
}

/**
 * SENT → BOUNCED: a delivery status notification (or a provider event) says the mail did not
 * reach its recipient after all. Only a failure of the notification's own recipient (To) counts;
 * any other state (already bounced, never sent) is left as it is.
 */
export function bounce(
  n: Notification,
  report: { recipient: string; status: string; diagnostic: string; permanent: boolean },
  now: Date,
): Transition {
  if (n.state !== 'SENT' || report.recipient.toLowerCase() !== n.recipient) return unchanged(n);
  const notification: Notification = {
    ...n,
    state: 'BOUNCED',
    lastError: `${report.status} ${report.diagnostic}`.trim(),
    updatedAt: now,
  };
  const { status, diagnostic, permanent } = report;
  return {
    notification,
    events: [{ type: 'NotificationBounced', notification, status, diagnostic, permanent, at: now }],
  };
}

/** SENT → COMPLAINED: the recipient (To) marked the delivered mail as spam. */
export function complain(
  n: Notification,
  complaint: { recipient: string; feedbackType: string },
  now: Date,
): Transition {
  if (n.state !== 'SENT' || complaint.recipient.toLowerCase() !== n.recipient) return unchanged(n);
  const notification: Notification = {
    ...n,
    state: 'COMPLAINED',
    lastError: `complaint: ${complaint.feedbackType}`,
    updatedAt: now,
  };
  return {
    notification,
    events: [
      {
        type: 'NotificationComplained',
        notification,
        feedbackType: complaint.feedbackType,
        at: now,
      },
    ],
  };
}

/** Whether RedriveNotifications can re-queue it: FAILED with its content kept. */
export function isRedrivable(n: Notification): boolean {
  return n.state === 'FAILED' && n.failedContent !== undefined;
}

/**
 * FAILED → QUEUED for a new delivery with a fresh retry budget: the next attempt's EmailRequested
 * (same id, same Message-ID) on the first-attempt topic. Anything else is left as it is, so a
 * second redrive of the same notification sends nothing.
 */
export function redrive(n: Notification, now: Date): Transition {
  if (!isRedrivable(n) || !n.failedContent) return unchanged(n);
  const notification: Notification = {
    ...n,
    state: 'QUEUED',
    lastError: '',
    nextAttemptAt: undefined,
    failedContent: undefined,
    attemptsBeforeRedrive: n.attempts,
    updatedAt: now,
  };
  return {
    notification,
    events: [
      {
        type: 'EmailRequested',
        notification,
        ...n.failedContent,
        route: 'first',
        attempt: n.attempts + 1,
        lastError: n.lastError,
      },
    ],
  };
}
