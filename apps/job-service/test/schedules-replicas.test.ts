import { MongoClient } from 'mongodb';
import { jobV1 } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { createGrpcClient } from '@trellis/platform/grpc';
import { waitFor } from '@trellis/platform/testing';
import { startServiceProcess, type ServiceProcess } from '@trellis/platform/testing/crash';
import type { JobDocument } from '../src/adapters/mongo/job.repository';
import type { ScheduleDocument } from '../src/adapters/mongo/schedule.repository';

const MAIN = 'apps/job-service/src/main.ts';
const SCHEDULES = 100;
const DATABASE = 'job_schedule_replicas';

let mongo: MongoDevServer;
let broker: KafkaDevBroker;
let client: MongoClient;
const replicas: ServiceProcess[] = [];

beforeAll(async () => {
  mongo = await startMongoDevServer({ port: 0 });
  broker = await startKafkaDevBroker({ port: 0 });
  client = await MongoClient.connect(mongo.uri);
}, 60_000);
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop()));
  await client?.close();
  await broker?.stop();
  await mongo?.stop();
}, 60_000);

function startReplica(): Promise<ServiceProcess> {
  return startServiceProcess(MAIN, {
    MONGODB_URI: mongo.uri,
    MONGODB_DATABASE: DATABASE,
    KAFKA_BROKERS: broker.brokers.join(','),
    SCHEDULE_TICK_INTERVAL_MS: '50',
  }).then((replica) => {
    replicas.push(replica);
    return replica;
  });
}

it('two replicas and a kill -9 of one mid-tick: exactly one job per tick', async () => {
  const [a] = await Promise.all([startReplica(), startReplica()]);
  const jobs = client.db(DATABASE).collection<JobDocument>('jobs');
  const schedules = client.db(DATABASE).collection<ScheduleDocument>('schedules');
  const grpc = createGrpcClient(jobV1.JobServiceDefinition, { address: a.address });
  // Every schedule ticks each second from the same instant, so each tick is 100 firings that the
  // two replicas race for. RUN_EACH catches up every tick missed while a replica was down.
  const startAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
  await Promise.all(
    Array.from({ length: SCHEDULES }, (_, i) =>
      grpc.client.createSchedule({
        scheduleId: `replica-${i}`,
        definition: {
          template: { type: 'demo.echo', payload: { message: `tick ${i}` } },
          interval: { seconds: 1n, nanos: 0 },
          startAt,
          catchUpPolicy: jobV1.CatchUpPolicy.CATCH_UP_POLICY_RUN_EACH,
          maxCatchUpRuns: 1000,
          overlapPolicy: jobV1.OverlapPolicy.OVERLAP_POLICY_ALLOW_ALL,
        },
      }),
    ),
  );
  grpc.close();
  // Mid-tick: some but not all of a tick's 100 jobs are committed.
  await waitFor(
    async () => {
      const n = await jobs.countDocuments();
      return n > 2 * SCHEDULES && n % SCHEDULES !== 0;
    },
    { timeoutMs: 30_000, intervalMs: 5, what: 'a tick in progress' },
  );
  await a.kill();
  // The survivor goes on alone; then the killed one comes back (a restart).
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await startReplica();
  const ticked = await jobs.countDocuments();
  await waitFor(async () => (await jobs.countDocuments()) >= ticked + 2 * SCHEDULES, {
    timeoutMs: 30_000,
    what: 'two more ticks after the restart',
  });
  await Promise.all(replicas.filter((r) => r !== a).map((r) => r.stop()));

  // Every schedule: one job for each tick from its first (startAt, or the first tick after its
  // creation on a slow machine) up to the last one it handled, no more.
  const all = await jobs.find({}, { projection: { idempotency_key: 1, run_at: 1 } }).toArray();
  const byKey = new Set(all.map((j) => j.idempotency_key));
  expect(byKey.size).toBe(all.length);
  let ticks = 0;
  for (const s of await schedules.find().toArray()) {
    const last = s.next_tick_at!.getTime() - 1000;
    const expected: string[] = [];
    const first = Math.max(0, Math.ceil((s.created_at.getTime() - startAt.getTime()) / 1000));
    for (let t = startAt.getTime() + first * 1000; t <= last; t += 1000)
      expected.push(`schedule:${s._id}:${new Date(t).toISOString()}`);
    const actual = all
      .filter((j) => j.idempotency_key?.startsWith(`schedule:${s._id}:`))
      .map((j) => j.idempotency_key!)
      .sort();
    expect(actual).toEqual(expected);
    ticks += expected.length;
  }
  expect(ticks).toBe(all.length);
  expect(ticks).toBeGreaterThanOrEqual(4 * SCHEDULES);
}, 180_000);
