import { rateLimited } from '../../domain/errors';
import type { SendLimiter } from '../ports/send-limiter.port';

/**
 * The per-caller limit on SendEmail/StartCampaign (through the SendLimiter, so it is shared by the
 * replicas when the shared limiter is on): RESOURCE_EXHAUSTED + RetryInfo when used up.
 */
export async function enforceCallerLimit(
  limiter: Pick<SendLimiter, 'tryCaller'>,
  caller: string,
  limit: string,
): Promise<void> {
  const result = await limiter.tryCaller(caller);
  if (!result.allowed) throw rateLimited(limit, result.retryAfterMs);
}
