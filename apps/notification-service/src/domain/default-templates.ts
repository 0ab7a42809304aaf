import type { TemplateContent } from './template';

/** Templates the event-driven mails use; seeded at start when absent (operators may edit them). */
export const EVENT_TEMPLATES = {
  welcome: 'account.welcome',
  transferReceipt: 'account.transfer-receipt',
  accountFrozen: 'account.frozen',
  jobDeadLettered: 'ops.job-dead-lettered',
} as const;

export const DEFAULT_TEMPLATES: Array<TemplateContent & { id: string }> = [
  {
    id: EVENT_TEMPLATES.welcome,
    displayName: 'Welcome mail',
    description: 'Sent on AccountOpened. Variables: owner_name, account_id, currency_code.',
    subject: 'Welcome to Trellis, {{owner_name}}',
    textBody:
      'Hello {{owner_name}},\n\nyour {{currency_code}} account {{account_id}} is open and ready to use.\n\n— Trellis\n',
    htmlBody:
      '<p>Hello {{owner_name}},</p><p>your {{currency_code}} account <code>{{account_id}}</code> is open and ready to use.</p><p>— Trellis</p>',
  },
  {
    id: EVENT_TEMPLATES.transferReceipt,
    displayName: 'Transfer receipt',
    description:
      'Sent to each party on TransferCompleted. Variables: owner_name, direction ("sent to" / "received from"), counterparty_name, amount, balance_after, account_id, transaction_id, reference.',
    subject: 'Transfer receipt: {{amount}} {{direction}} {{counterparty_name}}',
    textBody:
      'Hello {{owner_name}},\n\n{{amount}} {{direction}} {{counterparty_name}}.\nAccount: {{account_id}}\nBalance after: {{balance_after}}\nTransaction: {{transaction_id}}\n{{#if reference}}Reference: {{reference}}\n{{/if}}\n— Trellis\n',
    htmlBody:
      '<p>Hello {{owner_name}},</p><p><strong>{{amount}}</strong> {{direction}} {{counterparty_name}}.</p><ul><li>Account: {{account_id}}</li><li>Balance after: {{balance_after}}</li><li>Transaction: {{transaction_id}}</li>{{#if reference}}<li>Reference: {{reference}}</li>{{/if}}</ul>',
  },
  {
    id: EVENT_TEMPLATES.accountFrozen,
    displayName: 'Account frozen notice',
    description: 'Sent on AccountFrozen. Variables: owner_name, account_id, reason.',
    subject: 'Your account {{account_id}} has been frozen',
    textBody:
      'Hello {{owner_name}},\n\nyour account {{account_id}} has been frozen; deposits, withdrawals and transfers are paused.\n{{#if reason}}Reason: {{reason}}\n{{/if}}\n— Trellis\n',
    htmlBody: '',
  },
  {
    id: EVENT_TEMPLATES.jobDeadLettered,
    displayName: 'Dead job alert',
    description:
      'Sent to OPS_ALERT_EMAIL on JobDeadLettered. Variables: job_id, job_type, attempts, error_code, error_message.',
    subject: '[trellis] job {{job_id}} ({{job_type}}) is dead after {{attempts}} attempts',
    textBody:
      'Job {{job_id}} of type {{job_type}} reached the dead-letter state after {{attempts}} attempts.\nLast error: {{error_code}} {{error_message}}\n\nRetry it with JobService.RetryJob once the cause is fixed.\n',
    htmlBody: '',
  },
];
