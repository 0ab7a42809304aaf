import { accountV1, topics } from '@trellis/contracts';
import { toOutboxMessage } from '@trellis/platform/messaging';
import type { OutboxMessage } from '@trellis/platform/mongo';
import type { Account } from '../../domain/account';
import type { AccountEvent } from '../../domain/account-events';

const money = (currencyCode: string, units: bigint) => ({ currencyCode, units });
const aggregate = (id: string) => ({ id, type: 'account' });
const topic = topics.accountEvents;

/** A domain event as the trellis.account.v1 message in its envelope, keyed by account id. */
export function toAccountEventMessage(event: AccountEvent): OutboxMessage {
  switch (event.type) {
    case 'AccountOpened': {
      const a = event.account;
      return toOutboxMessage(
        topic,
        'trellis.account.v1.AccountOpened',
        accountV1.AccountOpened.fromPartial({
          accountId: a.id,
          ownerName: a.ownerName,
          email: a.email,
          currencyCode: a.currency,
          overdraftLimit: money(a.currency, a.overdraftLimit),
          openedAt: a.createdAt,
        }),
        aggregate(a.id),
        a.createdAt,
      );
    }
    case 'FundsDeposited':
    case 'FundsWithdrawn': {
      const { account: a, transaction: t } = event;
      const fields = {
        transactionId: t.id,
        accountId: a.id,
        amount: money(t.currency, t.amount),
        balanceAfter: money(a.currency, a.balance),
        reference: t.reference,
        ownerName: a.ownerName,
        email: a.email,
      };
      return event.type === 'FundsDeposited'
        ? toOutboxMessage(
            topic,
            'trellis.account.v1.FundsDeposited',
            accountV1.FundsDeposited.fromPartial({ ...fields, depositedAt: t.createdAt }),
            aggregate(a.id),
            t.createdAt,
          )
        : toOutboxMessage(
            topic,
            'trellis.account.v1.FundsWithdrawn',
            accountV1.FundsWithdrawn.fromPartial({ ...fields, withdrawnAt: t.createdAt }),
            aggregate(a.id),
            t.createdAt,
          );
    }
    case 'TransferCompleted': {
      const { from, to, transaction: t } = event;
      const party = (a: Account) => ({
        accountId: a.id,
        ownerName: a.ownerName,
        email: a.email,
        balanceAfter: money(a.currency, a.balance),
      });
      return toOutboxMessage(
        topic,
        'trellis.account.v1.TransferCompleted',
        accountV1.TransferCompleted.fromPartial({
          transactionId: t.id,
          from: party(from),
          to: party(to),
          amount: money(t.currency, t.amount),
          reference: t.reference,
          completedAt: t.createdAt,
        }),
        aggregate(from.id),
        t.createdAt,
      );
    }
    case 'AccountFrozen':
      return toOutboxMessage(
        topic,
        'trellis.account.v1.AccountFrozen',
        accountV1.AccountFrozen.fromPartial({
          ...holder(event.account, event.reason),
          frozenAt: event.at,
        }),
        aggregate(event.account.id),
        event.at,
      );
    case 'AccountUnfrozen':
      return toOutboxMessage(
        topic,
        'trellis.account.v1.AccountUnfrozen',
        accountV1.AccountUnfrozen.fromPartial({
          ...holder(event.account, event.reason),
          unfrozenAt: event.at,
        }),
        aggregate(event.account.id),
        event.at,
      );
    case 'AccountClosed':
      return toOutboxMessage(
        topic,
        'trellis.account.v1.AccountClosed',
        accountV1.AccountClosed.fromPartial({
          ...holder(event.account, event.reason),
          closedAt: event.at,
        }),
        aggregate(event.account.id),
        event.at,
      );
  }
}

function holder(a: Account, reason: string) {
  return { accountId: a.id, ownerName: a.ownerName, email: a.email, reason };
}
