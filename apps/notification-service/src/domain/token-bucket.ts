/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. Pure: the caller
 * passes the time. A rate of 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes `n` tokens if available; otherwise returns how many ms until they are. */
  take(now: number, n = 1): { ok: true } | { ok: false; retryAfterMs: number } {
    if (this.ratePerSecond <= 0) return { ok: true };
    this.refill(now);
    if (this.tokens >= n) {
      this.tokens -= n;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((n - this.tokens) / this.ratePerSecond) * 1000) };
  }

  /**
   * Reserves `n` tokens even if that drives the bucket negative, and returns how long to wait
   * before using them (0 if available now). Used by senders that queue rather than refuse.
   */
  reserve(now: number, n = 1): number {
    if (this.ratePerSecond <= 0) return 0;
    this.refill(now);
    this.tokens -= n;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.ratePerSecond) * 1000);
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsed * this.ratePerSecond);
    this.updatedAt = now;
  }
}

/** One bucket per key (caller, recipient domain), created on first use; idle ones are dropped. */
export class KeyedTokenBuckets {
  private readonly buckets = new Map<string, { bucket: TokenBucket; usedAt: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxKeys = 10_000,
  ) {}

  get(key: string, now: number): TokenBucket {
    let entry = this.buckets.get(key);
    if (!entry) {
      if (this.buckets.size >= this.maxKeys) this.evict(now);
      entry = { bucket: new TokenBucket(this.ratePerSecond, this.burst, now), usedAt: now };
      this.buckets.set(key, entry);
    }
    entry.usedAt = now;
    return entry.bucket;
  }

  private evict(now: number): void {
    // A bucket idle for burst/rate seconds is full again: forgetting it changes nothing.
    const idleMs = this.ratePerSecond > 0 ? (this.burst / this.ratePerSecond) * 1000 : 0;
    for (const [key, entry] of this.buckets) {
      if (now - entry.usedAt >= idleMs) this.buckets.delete(key);
    }
    if (this.buckets.size >= this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
  }
}
