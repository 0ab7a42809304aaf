/**
 * The send limits, shared by every replica: a global and a per-recipient-domain rate applied right
 * before each SMTP send, a per-caller rate applied when a request is taken, and an adaptive lower
 * rate for a domain that answered 421/451 "slow down".
 */
export interface SendLimiter {
  /** Waits until one more mail to `domain` fits the global and the domain's rate. */
  acquire(domain: string): Promise<void>;
  /** Whether `caller` may make one more request now; if not, when to retry. */
  tryCaller(caller: string): Promise<{ allowed: true } | { allowed: false; retryAfterMs: number }>;
  /** `domain` asked to slow down (SMTP 421/451): every replica sends to it at the lower rate for a while. */
  slowDown(domain: string): Promise<void>;
}
