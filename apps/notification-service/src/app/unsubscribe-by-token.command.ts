import type { UnsubscribeSource } from '../domain/list-suppression';
import type { ListSuppressionStore } from './ports/list-suppression.port';
import type { NotificationRepository } from './ports/notification.repository.port';
import type { UnsubscribeTokens } from './support/unsubscribe-token';
import type { DeliverabilityMetrics } from './ports/deliverability-metrics.port';

export interface UnsubscribeByTokenDeps {
  tokens: UnsubscribeTokens;
  listSuppressions: Pick<ListSuppressionStore, 'suppressForList'>;
  metrics: Pick<DeliverabilityMetrics, 'unsubscribed'>;
  notifications: Pick<NotificationRepository, 'findById'>;
  clock: () => Date;
}

export interface UnsubscribeByTokenInput {
  token: string;
  source: UnsubscribeSource;
}

export type UnsubscribeByTokenResult =
  | { ok: true; list: string; created: boolean }
  | {
      ok: false;
      reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' | 'unknown-notification';
    };

/**
 * The one-click (RFC 8058) and confirmation-page unsubscribe: the signed token alone says which
 * mail and which category — verified with no lookup, no login — and a bad or expired token writes
 * nothing. Only then is the token's notification read for its recipient, whose opt-out of the
 * category is recorded with the source.
 */
export class UnsubscribeByToken {
  constructor(private readonly deps: UnsubscribeByTokenDeps) {}

  async execute(input: UnsubscribeByTokenInput): Promise<UnsubscribeByTokenResult> {
    const now = this.deps.clock();
    const check = this.deps.tokens.verify(input.token, now);
    if (!check.ok) return check;
    const { notificationId, list } = check.claim;
    const notification = await this.deps.notifications.findById(notificationId);
    if (!notification) return { ok: false, reason: 'unknown-notification' };
    const { created } = await this.deps.listSuppressions.suppressForList({
      email: notification.recipient,
      list,
      source: input.source,
      createdAt: now,
    });
    if (created) this.deps.metrics.unsubscribed(input.source);
    return { ok: true, list, created };
  }

  /** Checks a token without writing or reading anything (the GET confirmation page). */
  preview(token: string): UnsubscribeByTokenResult {
    const check = this.deps.tokens.verify(token, this.deps.clock());
    return check.ok ? { ok: true, list: check.claim.list, created: false } : check;
  }
}
