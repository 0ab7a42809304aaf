import { KeyedTokenBuckets, TokenBucket } from '../../domain/token-bucket';

export interface ThrottleSettings {
  /** Mails per second over all recipients; 0 = unlimited. */
  globalRatePerSecond: number;
  globalBurst: number;
  /** Mails per second per recipient domain; 0 = unlimited. */
  domainRatePerSecond: number;
  domainBurst: number;
}

/**
 * The global and per-recipient-domain send rates (token buckets). `acquire` waits until both allow
 * one more mail; the delivery consumer calls it right before each SMTP send, so the rate holds
 * however many messages are waiting.
 */
export class SendThrottle {
  private readonly global: TokenBucket;
  private readonly domains: KeyedTokenBuckets;

  constructor(
    settings: ThrottleSettings,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    this.global = new TokenBucket(settings.globalRatePerSecond, settings.globalBurst, now());
    this.domains = new KeyedTokenBuckets(settings.domainRatePerSecond, settings.domainBurst);
  }

  async acquire(domain: string): Promise<void> {
    const t = this.now();
    const wait = Math.max(this.global.reserve(t), this.domains.get(domain, t).reserve(t));
    if (wait > 0) await this.sleep(wait);
  }
}
