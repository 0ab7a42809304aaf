import type { UnsubscribeTokens } from './unsubscribe-token';

export interface ListUnsubscribeSettings {
  /** The public base URL of the notification-service's HTTP endpoint, e.g. https://mail.example.com. */
  publicUrl: string;
  /** The mailbox that takes unsubscribe mails, e.g. unsubscribe@example.com. */
  mailto: string;
}

/** Whether a mail may be unsubscribed from: marketing mail names its list or category. */
export type MailKind = { kind: 'marketing'; list: string } | { kind: 'transactional' };

/**
 * The RFC 2369 / RFC 8058 headers for one recipient: an https one-click URL (first, as mailbox
 * providers prefer it) and a mailto fallback, both carrying the signed token. Transactional mail
 * (receipts, welcome, password reset) gets none: it is not something to unsubscribe from.
 */
export class ListUnsubscribeHeaders {
  constructor(
    private readonly tokens: UnsubscribeTokens,
    private readonly settings: ListUnsubscribeSettings,
  ) {}

  /** `notificationId`: the mail's notification, which the token names (never the address). */
  for(notificationId: string, mail: MailKind, now: Date): Record<string, string> {
    if (mail.kind === 'transactional') return {};
    const token = this.tokens.issue(notificationId, mail.list, now);
    const url = new URL('/unsubscribe', this.settings.publicUrl);
    url.searchParams.set('token', token);
    const mailto = `mailto:${this.settings.mailto}?subject=${encodeURIComponent(`unsubscribe ${token}`)}`;
    return {
      'List-Unsubscribe': `<${url.toString()}>, <${mailto}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    };
  }
}
