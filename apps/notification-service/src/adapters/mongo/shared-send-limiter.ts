import type { Collection, Db, MongoClient } from 'mongodb';
import { RateLimiterMongo, RateLimiterRes } from 'rate-limiter-flexible';
import type { SendLimiter } from '../../app/ports/send-limiter.port';

export interface SharedLimiterSettings {
  /** Mails per second over all recipients; 0 = unlimited. */
  globalRatePerSecond: number;
  /** Mails per second per recipient domain; 0 = unlimited. */
  domainRatePerSecond: number;
  /** Requests per second per caller; 0 = unlimited. */
  callerRatePerSecond: number;
  /** A slowed-down domain's rate, as a percentage of domainRatePerSecond (at least 1/s). */
  slowdownPercent: number;
  slowdownMs: number;
}

interface TakeQueue {
  waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }>;
  draining: boolean;
}

interface SlowdownDoc {
  _id: string;
  until: Date;
}

/** How long a replica trusts what it read about a domain's slow-down (one query per domain per second). */
const SLOWDOWN_CACHE_MS = 1_000;

/**
 * The send limits in MongoDB, so N replicas together send at the configured rate, not N times it:
 * rate-limiter-flexible's RateLimiterMongo (one document per key and 1-second window, incremented
 * atomically with findOneAndUpdate) for the global, per-domain and per-caller rates; a domain's
 * slow-down is a document with an expiry that every replica reads (cached for a second).
 * `acquire` consumes the domain's point first, then the global one (concurrent acquires of a key
 * share one consume, see `take`), and when refused sleeps until the window the store names — with
 * a little jitter so the waiters of all replicas do not hit MongoDB at the same instant. A refused attempt still counts in its window (the store's rule);
 * that only lowers throughput under contention, never raises it above the rate.
 */
export class MongoSharedSendLimiter implements SendLimiter {
  private readonly global: RateLimiterMongo | undefined;
  private readonly domain: RateLimiterMongo | undefined;
  private readonly slowDomain: RateLimiterMongo | undefined;
  private readonly caller: RateLimiterMongo | undefined;
  private readonly slowdowns: Collection<SlowdownDoc>;
  private readonly slowCache = new Map<string, { until: number; checkedAt: number }>();
  private readonly queues = new Map<string, TakeQueue>();

  constructor(
    client: MongoClient,
    db: Db,
    private readonly settings: SharedLimiterSettings,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) =>
      new Promise((resolve) => setTimeout(resolve, ms)),
  ) {
    const limiter = (keyPrefix: string, points: number) =>
      points > 0
        ? new RateLimiterMongo({
            storeClient: client,
            dbName: db.databaseName,
            tableName: 'send_limits',
            keyPrefix,
            points,
            duration: 1,
          })
        : undefined;
    this.global = limiter('global', settings.globalRatePerSecond);
    this.domain = limiter('domain', settings.domainRatePerSecond);
    this.slowDomain = limiter(
      'domain-slow',
      Math.max(1, Math.floor((settings.domainRatePerSecond * settings.slowdownPercent) / 100)),
    );
    this.caller = limiter('caller', settings.callerRatePerSecond);
    this.slowdowns = db.collection<SlowdownDoc>('send_slowdowns');
  }

  async acquire(domain: string): Promise<void> {
    const key = domain.toLowerCase();
    const domainLimiter =
      this.domain && ((await this.isSlowed(key)) ? this.slowDomain : this.domain);
    if (domainLimiter) await this.take(domainLimiter, key);
    if (this.global) await this.take(this.global, 'all');
  }

  async tryCaller(
    caller: string,
  ): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }> {
    if (!this.caller) return { allowed: true };
    const refused = await refusal(this.caller.consume(caller));
    return refused ? { allowed: false, retryAfterMs: refused.msBeforeNext } : { allowed: true };
  }

  async slowDown(domain: string): Promise<void> {
    const key = domain.toLowerCase();
    const until = this.now() + this.settings.slowdownMs;
    // $max: a second "slow down" extends the period, an older one never shortens it.
    await this.slowdowns.updateOne(
      { _id: key },
      { $max: { until: new Date(until) } },
      { upsert: true },
    );
    this.slowCache.set(key, { until, checkedAt: this.now() });
  }

  /**
   * One point of `key`. Concurrent takers of a key are coalesced: one `consume(key, m)` for the m
   * waiting (at most the rate), and when the window is nearly full, the first `points − (consumed
   * before us)` of them pass — the rest were within a refused consume, which the store counts
   * anyway, and wait for the next window. One MongoDB round trip per batch instead of per mail.
   */
  private take(limiter: RateLimiterMongo, key: string): Promise<void> {
    const id = `${limiter.keyPrefix}:${key}`;
    let queue = this.queues.get(id);
    if (!queue) {
      queue = { waiting: [], draining: false };
      this.queues.set(id, queue);
    }
    const taken = new Promise<void>((resolve, reject) => queue.waiting.push({ resolve, reject }));
    if (!queue.draining) void this.drain(limiter, key, id, queue);
    return taken;
  }

  private async drain(limiter: RateLimiterMongo, key: string, id: string, queue: TakeQueue) {
    queue.draining = true;
    try {
      while (queue.waiting.length > 0) {
        const batch = queue.waiting.splice(0, Math.min(queue.waiting.length, limiter.points));
        let granted = batch.length;
        let waitMs = 0;
        try {
          await limiter.consume(key, batch.length);
        } catch (err) {
          if (!(err instanceof RateLimiterRes)) {
            for (const w of batch) w.reject(err);
            continue;
          }
          const before = err.consumedPoints - batch.length;
          granted = Math.max(0, Math.min(batch.length, limiter.points - before));
          waitMs = err.msBeforeNext + Math.floor(Math.random() * 20);
        }
        for (const w of batch.slice(0, granted)) w.resolve();
        if (granted < batch.length) {
          // The refused keep their place at the head of the queue.
          queue.waiting.unshift(...batch.slice(granted));
          await this.sleep(waitMs);
        }
      }
    } finally {
      queue.draining = false;
      this.queues.delete(id);
    }
  }

  private async isSlowed(domain: string): Promise<boolean> {
    const t = this.now();
    let cached = this.slowCache.get(domain);
    if (!cached || t - cached.checkedAt >= SLOWDOWN_CACHE_MS) {
      const doc = await this.slowdowns.findOne({ _id: domain });
      cached = { until: doc ? doc.until.getTime() : 0, checkedAt: t };
      this.slowCache.set(domain, cached);
    }
    return cached.until > t;
  }
}

/** The store's refusal (a RateLimiterRes rejection), or undefined when the point was granted; store errors propagate. */
async function refusal(attempt: Promise<RateLimiterRes>): Promise<RateLimiterRes | undefined> {
  try {
    await attempt;
    return undefined;
  } catch (err) {
    if (err instanceof RateLimiterRes) return err;
    throw err;
  }
}
