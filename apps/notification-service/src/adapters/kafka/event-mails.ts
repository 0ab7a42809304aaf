import type { DecodedEvent } from '@trellis/contracts';
import type { EventMail } from '../../app/handle-domain-event.command';
import { CAMPAIGN_JOB_TYPE } from '../../domain/campaign';
import { EVENT_TEMPLATES } from '../../domain/default-templates';
import { formatMoney } from '../../domain/money';

/**
 * The mails an account/job event asks for: AccountOpened → welcome, TransferCompleted → a receipt
 * to each party, AccountFrozen → notice, JobDeadLettered → alert to the ops address.
 */
export function eventMails(event: DecodedEvent, opsAlertEmail: string): EventMail[] {
  switch (event.eventType) {
    case 'trellis.account.v1.AccountOpened': {
      const e = event.payload;
      return [
        {
          role: 'holder',
          to: e.email,
          templateId: EVENT_TEMPLATES.welcome,
          variables: {
            owner_name: e.ownerName,
            account_id: e.accountId,
            currency_code: e.currencyCode,
          },
        },
      ];
    }
    case 'trellis.account.v1.TransferCompleted': {
      const e = event.payload;
      const amount = e.amount ? formatMoney(e.amount.currencyCode, e.amount.units) : '';
      const parties = [
        { role: 'from', self: e.from, other: e.to, direction: 'sent to' },
        { role: 'to', self: e.to, other: e.from, direction: 'received from' },
      ];
      return parties.flatMap(({ role, self, other, direction }) =>
        self
          ? [
              {
                role,
                to: self.email,
                templateId: EVENT_TEMPLATES.transferReceipt,
                variables: {
                  owner_name: self.ownerName,
                  account_id: self.accountId,
                  direction,
                  counterparty_name: other?.ownerName ?? '',
                  amount,
                  balance_after: self.balanceAfter
                    ? formatMoney(self.balanceAfter.currencyCode, self.balanceAfter.units)
                    : '',
                  transaction_id: e.transactionId,
                  reference: e.reference,
                },
              },
            ]
          : [],
      );
    }
    case 'trellis.account.v1.AccountFrozen': {
      const e = event.payload;
      return [
        {
          role: 'holder',
          to: e.email,
          templateId: EVENT_TEMPLATES.accountFrozen,
          variables: { owner_name: e.ownerName, account_id: e.accountId, reason: e.reason },
        },
      ];
    }
    case 'trellis.job.v1.JobDeadLettered': {
      const e = event.payload;
      return [
        {
          role: 'ops',
          to: opsAlertEmail,
          templateId: EVENT_TEMPLATES.jobDeadLettered,
          variables: {
            job_id: e.jobId,
            job_type: e.type,
            attempts: e.attempts,
            error_code: e.lastError?.code ?? '',
            error_message: e.lastError?.message ?? '',
          },
        },
      ];
    }
    default:
      return [];
  }
}

/**
 * The end of a campaign's job that the worker could not record itself: JobDeadLettered → FAILED,
 * JobCancelled → CANCELLED; undefined for any other event.
 */
export function campaignJobEnd(
  event: DecodedEvent,
): { jobId: string; state: 'FAILED' | 'CANCELLED' } | undefined {
  if (
    event.eventType === 'trellis.job.v1.JobDeadLettered' &&
    event.payload.type === CAMPAIGN_JOB_TYPE
  ) {
    return { jobId: event.payload.jobId, state: 'FAILED' };
  }
  if (
    event.eventType === 'trellis.job.v1.JobCancelled' &&
    event.payload.type === CAMPAIGN_JOB_TYPE
  ) {
    return { jobId: event.payload.jobId, state: 'CANCELLED' };
  }
  return undefined;
}
