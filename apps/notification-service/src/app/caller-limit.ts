import { RateLimitedError } from '@trellis/platform/errors';
import type { NotificationDeps } from './deps';

/** Per-caller token bucket on SendEmail/StartCampaign: RESOURCE_EXHAUSTED + RetryInfo when empty. */
export function enforceCallerLimit(
  deps: Pick<NotificationDeps, 'callerLimits' | 'clock'>,
  caller: string,
  limit: string,
): void {
  const now = deps.clock().getTime();
  const result = deps.callerLimits.get(caller, now).take(now);
  if (!result.ok) {
    throw new RateLimitedError(
      result.retryAfterMs,
      'NOTIFICATION.RATE_LIMITED',
      `rate limit ${limit} exceeded; retry in ${result.retryAfterMs} ms`,
      { limit },
    );
  }
}
