import { KeyedTokenBuckets, TokenBucket } from '../../domain/token-bucket';
import type { SendLimiter } from '../ports/send-limiter.port';

export interface ThrottleSettings {
  /** Mails per second over all recipients; 0 = unlimited. */
  globalRatePerSecond: number;
  globalBurst: number;
  /** Mails per second per recipient domain; 0 = unlimited. */
  domainRatePerSecond: number;
  domainBurst: number;
  /** Requests per second per caller (SendEmail, StartCampaign); 0 = unlimited. */
  callerRatePerSecond: number;
  callerBurst: number;
  /** A slowed-down domain's rate, as a percentage of domainRatePerSecond (at least 1/s). */
  slowdownPercent: number;
  slowdownMs: number;
}

/**
 * The send limits of one process (token buckets) — the `SendLimiter` when the shared MongoDB
 * limiter is off (a single replica). `acquire` waits until the global and the domain's rate allow
 * one more mail; a domain that asked to slow down draws from a bucket at `slowdownPercent` of the
 * rate until `slowdownMs` has passed.
 */
export class SendThrottle implements SendLimiter {
  private readonly global: TokenBucket;
  private readonly domains: KeyedTokenBuckets;
  private readonly slowDomains: KeyedTokenBuckets;
  private readonly callers: KeyedTokenBuckets;
  private readonly slowedUntil = new Map<string, number>();

  constructor(
    private readonly settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.global = new TokenBucket(settings.globalRatePerSecond, settings.globalBurst, now());
    this.domains = new KeyedTokenBuckets(settings.domainRatePerSecond, settings.domainBurst);
    const slowRate =
      settings.domainRatePerSecond > 0
        ? Math.max(1, (settings.domainRatePerSecond * settings.slowdownPercent) / 100)
        : 0;
    this.slowDomains = new KeyedTokenBuckets(slowRate, 1);
    this.callers = new KeyedTokenBuckets(settings.callerRatePerSecond, settings.callerBurst);
  }

  async acquire(domain: string): Promise<void> {
    const t = this.now();
    const key = domain.toLowerCase();
    const until = this.slowedUntil.get(key);
    if (until !== undefined && until <= t) this.slowedUntil.delete(key);
    const buckets = until !== undefined && until > t ? this.slowDomains : this.domains;
    const wait = Math.max(this.global.reserve(t), buckets.get(key, t).reserve(t));
    if (wait > 0) await this.sleep(wait);
  }

  async tryCaller(
    caller: string,
  ): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }> {
    const t = this.now();
    const result = this.callers.get(caller, t).take(t);
    return result.ok ? { allowed: true } : { allowed: false, retryAfterMs: result.retryAfterMs };
  }

  async slowDown(domain: string): Promise<void> {
    const key = domain.toLowerCase();
    const until = this.now() + this.settings.slowdownMs;
    this.slowedUntil.set(key, Math.max(until, this.slowedUntil.get(key) ?? 0));
  }
}
