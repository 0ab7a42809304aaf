import { rateLimited } from '../../domain/errors';
import { KeyedTokenBuckets } from '../../domain/token-bucket';

/** Per-caller token buckets on SendEmail/StartCampaign: RESOURCE_EXHAUSTED + RetryInfo when empty. */
export class CallerLimit {
  private readonly buckets: KeyedTokenBuckets;

  constructor(ratePerSecond: number, burst: number) {
    this.buckets = new KeyedTokenBuckets(ratePerSecond, burst);
  }

  enforce(caller: string, limit: string, now: Date): void {
    const t = now.getTime();
    const result = this.buckets.get(caller, t).take(t);
    if (!result.ok) throw rateLimited(limit, result.retryAfterMs);
  }
}
