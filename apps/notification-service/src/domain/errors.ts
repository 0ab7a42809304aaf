import {
  AbortedError,
  AlreadyExistsError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
} from '@trellis/platform/errors';

// The business-rule failures of the notification API; reasons are trellis.common.v1.ErrorReason names.

export const notFound = (
  kind: 'template' | 'contact' | 'suppression' | 'notification' | 'campaign',
  id: string,
) => new NotFoundError(kind, id);

export const templateAlreadyExists = (id: string) =>
  new AlreadyExistsError('TEMPLATE.ALREADY_EXISTS', `template ${id} already exists`, {
    template_id: id,
  });

export const templateVersionMismatch = (id: string, current: number, expected: number) =>
  new AbortedError(
    'TEMPLATE.VERSION_MISMATCH',
    `template ${id} is at version ${current}, not ${expected}`,
    { template_id: id, current_version: String(current) },
  );

export const contactAlreadyExists = (email: string) =>
  new AlreadyExistsError('CONTACT.ALREADY_EXISTS', `a contact with email ${email} exists`);

export const campaignIllegalTransition = (c: { id: string; state: string }) =>
  new PreconditionFailedError('CAMPAIGN.ILLEGAL_TRANSITION', `campaign ${c.id} is ${c.state}`, {
    current_state: c.state,
  });

/** Per-caller token bucket on SendEmail/StartCampaign: RESOURCE_EXHAUSTED + RetryInfo. */
export const rateLimited = (limit: string, retryAfterMs: number) =>
  new RateLimitedError(
    retryAfterMs,
    'NOTIFICATION.RATE_LIMITED',
    `rate limit ${limit} exceeded; retry in ${retryAfterMs} ms`,
    { limit },
  );
