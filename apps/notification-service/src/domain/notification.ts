export type NotificationState = 'QUEUED' | 'SENDING' | 'SENT' | 'FAILED' | 'SUPPRESSED';
export type NotificationSource = 'API' | 'EVENT' | 'CAMPAIGN';

export const FINAL_STATES: readonly NotificationState[] = ['SENT', 'FAILED', 'SUPPRESSED'];

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
  source: NotificationSource;
  sourceRef: string;
  traceId: string;
  /** Unique: `api:<key>:<n>`, `event:<event id>:<recipient>` or `campaign:<id>:<recipient>`. */
  dedupeKey: string;
  createdAt: Date;
  updatedAt: Date;
  sentAt?: Date;
  nextAttemptAt?: Date;
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
