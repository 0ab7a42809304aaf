import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import {
  MongoSharedSendLimiter,
  type SharedLimiterSettings,
} from '../src/adapters/mongo/shared-send-limiter';

/** Two replicas: two MongoClients (two connection pools) on one MongoDB and database. */
describe('MongoSharedSendLimiter across two replicas (devstack MongoDB)', () => {
  let mongo: MongoDevServer | undefined;
  const clients: MongoClient[] = [];

  beforeAll(async () => {
    mongo = process.env.MONGODB_URI ? undefined : await startMongoDevServer({ port: 0 });
    for (let i = 0; i < 2; i++)
      clients.push(await MongoClient.connect(process.env.MONGODB_URI ?? mongo!.uri));
  });

  afterAll(async () => {
    for (const client of clients) await client.close();
    await mongo?.stop();
  });

  const replicas = (settings: Partial<SharedLimiterSettings>) => {
    const database = `limiter_${randomUUID().slice(0, 8)}`;
    const full: SharedLimiterSettings = {
      globalRatePerSecond: 0,
      domainRatePerSecond: 0,
      callerRatePerSecond: 0,
      slowdownPercent: 25,
      slowdownMs: 60_000,
      ...settings,
    };
    return clients.map((client) => new MongoSharedSendLimiter(client, client.db(database), full));
  };

  /** Every replica runs `workers` senders as fast as the limiter lets them for `ms`; grant times per replica. */
  const saturate = async (
    limiters: MongoSharedSendLimiter[],
    domain: string,
    workers: number,
    ms: number,
  ) => {
    const end = Date.now() + ms + 1_000; // a second past the measured window, so it is saturated throughout
    const grants = limiters.map(() => [] as number[]);
    await Promise.all(
      limiters.flatMap((limiter, i) =>
        Array.from({ length: workers }, async () => {
          while (Date.now() < end) {
            await limiter.acquire(domain);
            grants[i].push(Date.now());
          }
        }),
      ),
    );
    const t0 = Math.min(...grants.flat());
    return grants.map((times) => times.filter((t) => t < t0 + ms).length);
  };

  it('two replicas together stay within a per-domain limit of 20/s over 10 s (within 10 %)', async () => {
    const counts = await saturate(replicas({ domainRatePerSecond: 20 }), 'example.com', 6, 10_000);
    const total = counts[0] + counts[1];
    expect(total).toBeGreaterThanOrEqual(180);
    expect(total).toBeLessThanOrEqual(220);
    // Both replicas sent: the limit is shared, not granted to one of them.
    expect(counts[0]).toBeGreaterThan(0);
    expect(counts[1]).toBeGreaterThan(0);
  }, 30_000);

  it('a slow-down reported by one replica lowers the domain rate for the other, other domains unaffected', async () => {
    const [a, b] = replicas({ domainRatePerSecond: 20, slowdownPercent: 25 });
    await a.slowDown('slow.example');
    const [slowed] = await saturate([b], 'slow.example', 4, 2_000);
    expect(slowed).toBeGreaterThanOrEqual(5);
    expect(slowed).toBeLessThanOrEqual(15); // 5/s over 2 s, plus one window of slack
    const [normal] = await saturate([b], 'fast.example', 4, 2_000);
    expect(normal).toBeGreaterThanOrEqual(36);
  }, 30_000);

  it('the global limit holds across replicas and domains, and the caller limit is shared', async () => {
    const limiters = replicas({ globalRatePerSecond: 10, callerRatePerSecond: 3 });
    const counts = await saturate(limiters, 'one.example', 3, 2_000);
    expect(counts[0] + counts[1]).toBeLessThanOrEqual(30);
    expect(counts[0] + counts[1]).toBeGreaterThanOrEqual(18);
    const answers = [];
    for (const limiter of [...limiters, ...limiters])
      answers.push(await limiter.tryCaller('job-service'));
    expect(answers.filter((a) => a.allowed)).toHaveLength(3);
    expect(answers[3]).toMatchObject({ allowed: false, retryAfterMs: expect.any(Number) });
    expect(await limiters[0].tryCaller('account-service')).toEqual({ allowed: true });
  }, 30_000);
});
