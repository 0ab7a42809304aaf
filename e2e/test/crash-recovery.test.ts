import { randomUUID } from 'node:crypto';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { waitFor } from '@trellis/platform/testing';
import { AccountCrashDrill } from '@trellis/platform/testing/crash';

// MongoDB keeps its default transactionLifetimeLimitSeconds (60): what frees the hot accounts in
// seconds is the restarted service killing the sessions its dead predecessor left open.
let mongo: MongoDevServer;
let kafka: KafkaDevBroker;
let drill: AccountCrashDrill | undefined;

beforeAll(async () => {
  mongo = await startMongoDevServer({ port: 0 });
  kafka = await startKafkaDevBroker({ port: 0 });
});
afterAll(async () => {
  await drill?.stop();
  await kafka?.stop();
  await mongo?.stop();
});

describe('kill -9 of the account-service mid-transfer', () => {
  it('a transfer on the same hot accounts succeeds within 10 s of the restart; no event is lost or doubled; balances = ledgers', async () => {
    drill = await AccountCrashDrill.start({
      mongoUri: mongo.uri,
      brokers: kafka.brokers,
      database: `crash_${randomUUID().slice(0, 8)}`,
      inFlight: 16,
    });
    drill.startLoad();
    await drill.kill();
    await drill.restart();
    await waitFor(() => drill!.transfer(), {
      timeoutMs: 10_000,
      what: 'a transfer on the hot accounts after the restart',
    });
    await drill.stopLoad();

    const verdict = await drill.verify();
    expect(verdict.committed).toBeGreaterThan(20);
    expect(verdict).toMatchObject({ lost: 0, doubled: 0, unbalanced: 0 });
  }, 120_000);
});
