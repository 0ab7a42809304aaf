import { SendThrottle } from './send-throttle';

function throttle() {
  let now = 0;
  const waits: number[] = [];
  const limiter = new SendThrottle(
    {
      globalRatePerSecond: 0,
      globalBurst: 0,
      domainRatePerSecond: 20,
      domainBurst: 1,
      callerRatePerSecond: 1,
      callerBurst: 2,
      slowdownPercent: 25,
      slowdownMs: 60_000,
    },
    () => now,
    async (ms) => {
      waits.push(ms);
    },
  );
  return { limiter, waits, advance: (ms: number) => (now += ms) };
}

describe('SendThrottle (the per-process SendLimiter)', () => {
  it('a domain that asked to slow down gets 25 % of its rate until the period ends; others keep theirs', async () => {
    const { limiter, waits, advance } = throttle();
    await limiter.acquire('a.test');
    await limiter.acquire('a.test');
    expect(waits).toEqual([50]); // 20/s: one mail every 50 ms
    advance(1_000);
    await limiter.slowDown('A.test');
    waits.length = 0;
    await limiter.acquire('a.test');
    await limiter.acquire('a.test');
    await limiter.acquire('b.test');
    expect(waits).toEqual([200]); // 5/s for a.test; b.test unaffected
    advance(60_000);
    waits.length = 0;
    await limiter.acquire('a.test');
    await limiter.acquire('a.test');
    expect(waits).toEqual([50]);
  });

  it('per caller: the burst, then refused with the time to retry', async () => {
    const { limiter } = throttle();
    expect(await limiter.tryCaller('svc')).toEqual({ allowed: true });
    expect(await limiter.tryCaller('svc')).toEqual({ allowed: true });
    expect(await limiter.tryCaller('svc')).toEqual({ allowed: false, retryAfterMs: 1_000 });
    expect(await limiter.tryCaller('other')).toEqual({ allowed: true });
  });
});
