import type { UnsubscribeSource } from '../domain/list-suppression';
import type { ListSuppressionStore } from './ports/list-suppression.port';
import type { UnsubscribeTokens } from './support/unsubscribe-token';

export interface UnsubscribeByTokenDeps {
  tokens: UnsubscribeTokens;
  listSuppressions: ListSuppressionStore;
  clock: () => Date;
}

export interface UnsubscribeByTokenInput {
  token: string;
  source: UnsubscribeSource;
}

export type UnsubscribeByTokenResult =
  | { ok: true; list: string; created: boolean }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'expired' };

/**
 * The one-click (RFC 8058) and confirmation-page unsubscribe: the signed token alone names the
 * address and the list — no lookup, no login — and a bad or expired token writes nothing.
 */
export class UnsubscribeByToken {
  constructor(private readonly deps: UnsubscribeByTokenDeps) {}

  async execute(input: UnsubscribeByTokenInput): Promise<UnsubscribeByTokenResult> {
    const now = this.deps.clock();
    const check = this.deps.tokens.verify(input.token, now);
    if (!check.ok) return check;
    const { email, list } = check.claim;
    const { created } = await this.deps.listSuppressions.suppressForList({
      email,
      list,
      source: input.source,
      createdAt: now,
    });
    return { ok: true, list, created };
  }

  /** Checks a token without writing (the GET confirmation page). */
  preview(token: string): UnsubscribeByTokenResult {
    const check = this.deps.tokens.verify(token, this.deps.clock());
    return check.ok ? { ok: true, list: check.claim.list, created: false } : check;
  }
}
