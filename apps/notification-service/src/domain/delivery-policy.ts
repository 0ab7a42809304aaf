/** How an SMTP attempt ended. */
export type SendOutcome =
  | { ok: true; response: string }
  | {
      ok: false;
      permanent: boolean;
      error: string;
      /** The SMTP reply code, when the server answered (none for connection errors/timeouts). */
      code?: number;
    };

/** 421 (closing, try later) and 451 (local error / rate limited): the domain asks us to slow down. */
export function isSlowDownSmtpCode(code: number | undefined): boolean {
  return code === 421 || code === 451;
}

/**
 * Classifies an SMTP failure: 5xx replies are permanent; 4xx replies, connection errors and
 * timeouts (no reply code) are transient.
 */
export function isPermanentSmtpCode(code: number | undefined): boolean {
  return code !== undefined && code >= 500 && code < 600;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Exponential backoff: base · 2^(attempt-1), capped, with ±20 % jitter. `attempt` is the failed one. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random = Math.random): number {
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(raw * (0.8 + 0.4 * random()));
}
