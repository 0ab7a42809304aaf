import type { DecodedEvent } from '@trellis/contracts';
import { isValidEmail } from '../domain/email-address';
import { formatMoney } from '../domain/money';
import { EVENT_TEMPLATES } from './default-templates';
import type { NotificationDeps } from './deps';
import { getTemplate } from './get-template.query';
import { queueNotifications, type NotificationSpec } from './queue-notifications';
import { recipientVariables } from './recipient-variables';
import type { InboxPort } from './unit-of-work.port';

export interface EventMailDeps extends NotificationDeps {
  inbox: InboxPort;
  opsAlertEmail: string;
}

interface Mail {
  role: string;
  to: string;
  templateId: string;
  variables: Record<string, unknown>;
}

/**
 * Event-driven mail: AccountOpened → welcome, TransferCompleted → a receipt to each party,
 * AccountFrozen → notice, JobDeadLettered → alert to the ops address. The notifications are
 * written in the inbox transaction of the event, so a redelivered event queues nothing.
 */
export async function handleDomainEvent(
  deps: EventMailDeps,
  eventId: string,
  event: DecodedEvent,
  traceId: string,
): Promise<'queued' | 'duplicate' | 'ignored'> {
  const mails = mailsFor(event, deps.opsAlertEmail).filter((m) => isValidEmail(m.to));
  if (mails.length === 0) return 'ignored';
  const versions = new Map<string, number>();
  for (const m of mails) {
    if (!versions.has(m.templateId))
      versions.set(m.templateId, (await getTemplate(deps, m.templateId, 0)).version);
  }
  const recipients = [...new Set(mails.map((m) => m.to.toLowerCase()))];
  const contacts = new Map((await deps.contacts.byEmails(recipients)).map((c) => [c.email, c]));
  const outcome = await deps.inbox.processOnce(eventId, event.eventType, async (tx) => {
    const specs: NotificationSpec[] = mails.map((m) => {
      const to = m.to.toLowerCase();
      return {
        recipient: to,
        cc: [],
        content: {
          kind: 'template',
          templateId: m.templateId,
          templateVersion: versions.get(m.templateId)!,
          variables: m.variables,
        },
        contextVariables: recipientVariables(to, contacts.get(to)),
        source: 'EVENT',
        sourceRef: eventId,
        dedupeKey: `event:${eventId}:${m.role}`,
        traceId,
      };
    });
    await queueNotifications(deps, tx, specs);
  });
  return outcome === 'processed' ? 'queued' : 'duplicate';
}

function mailsFor(event: DecodedEvent, opsAlertEmail: string): Mail[] {
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
