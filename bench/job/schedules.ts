// Schedule ticks/s: 1,000 schedules due at the same instant, fired by 1 and by 2 job-service
// replicas (each its own process) on one MongoDB; every tick must give exactly one job (checked,
// the run fails otherwise). Run alone, or as the last section of bench/job/run.ts.
//
//   npx tsx bench/job/schedules.ts      (SCHEDULES=1000 SCHEDULE_REPLICAS=1,2)
import { MongoClient } from 'mongodb';
import { jobV1 } from '@trellis/contracts';
import { createGrpcClient } from '@trellis/platform/grpc';
import { spawnDevstack } from '../support/spawn-devstack';
import { startJobServiceProcess } from './job-service-process';

const SCHEDULES = Number(process.env.SCHEDULES ?? 1000);
const REPLICA_COUNTS = (process.env.SCHEDULE_REPLICAS ?? '1,2').split(',').map(Number);
/** How often each replica's ticker looks for due schedules (the service default is 1 s). */
const TICK_INTERVAL_MS = 50;

export interface TickFigures {
  replicas: number;
  schedules: number;
  /** From the instant they were due to the last job's creation. */
  seconds: number;
  ticksPerSecond: number;
}

/** One run: `replicas` processes, SCHEDULES schedules all due at one instant. */
async function run(
  infra: { mongoUri: string; brokers: string },
  replicas: number,
): Promise<TickFigures> {
  const database = `bench_schedules_${replicas}_${Date.now()}`;
  const services = await Promise.all(
    Array.from({ length: replicas }, () =>
      startJobServiceProcess(infra, database, [], {
        SCHEDULE_TICK_INTERVAL_MS: String(TICK_INTERVAL_MS),
      }),
    ),
  );
  const mongo = await MongoClient.connect(infra.mongoUri);
  const grpc = createGrpcClient(jobV1.JobServiceDefinition, { address: services[0].address });
  try {
    // Hourly interval schedules starting in a day, created in parallel (not measured) ...
    const later = new Date(Date.now() + 24 * 3600_000);
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < SCHEDULES; i = next++)
          await grpc.client.createSchedule({
            scheduleId: `bench-${i}`,
            definition: {
              template: { type: 'bench.noop', payload: { i } },
              interval: { seconds: 3600n, nanos: 0 },
              startAt: later,
            },
          });
      }),
    );
    // ... then all moved to start at one instant two seconds ahead: the state CreateSchedule would
    // have stored for that start_at, written at once because creating 1,000 takes longer than the
    // lead time one could guess for it on a loaded machine.
    const dueAt = new Date(Math.ceil(Date.now() / 1000) * 1000 + 2000);
    await mongo
      .db(database)
      .collection('schedules')
      .updateMany({}, { $set: { start_at: dueAt, next_tick_at: dueAt, due_at: dueAt } });
    const jobs = mongo.db(database).collection('jobs');
    for (;;) {
      if ((await jobs.countDocuments()) >= SCHEDULES && Date.now() > dueAt.getTime()) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // Quiet for two ticker intervals: a double fire would show up as an extra job.
    await new Promise((resolve) => setTimeout(resolve, 4 * TICK_INTERVAL_MS));
    const docs = await jobs
      .find({}, { projection: { idempotency_key: 1, created_at: 1 } })
      .toArray();
    const keys = new Set(docs.map((d) => d.idempotency_key as string));
    const expected = Array.from(
      { length: SCHEDULES },
      (_, i) => `schedule:bench-${i}:${dueAt.toISOString()}`,
    );
    if (docs.length !== SCHEDULES || !expected.every((k) => keys.has(k)))
      throw new Error(`expected exactly one job per tick: ${docs.length} jobs for ${SCHEDULES}`);
    const last = Math.max(...docs.map((d) => (d.created_at as Date).getTime()));
    const seconds = (last - dueAt.getTime()) / 1000;
    return { replicas, schedules: SCHEDULES, seconds, ticksPerSecond: SCHEDULES / seconds };
  } finally {
    grpc.close();
    await mongo.close();
    for (const service of services) service.process.kill('SIGTERM');
  }
}

/** The ticks/s section: one line per replica count. */
export async function benchScheduleTicks(infra: {
  mongoUri: string;
  brokers: string;
}): Promise<TickFigures[]> {
  const rows: TickFigures[] = [];
  for (const replicas of REPLICA_COUNTS) {
    const figures = await run(infra, replicas);
    rows.push(figures);
    console.log(
      `schedules: ${figures.schedules} due at once, replicas=${replicas}: all fired in ${figures.seconds.toFixed(2)} s = ${Math.round(figures.ticksPerSecond)} ticks/s, exactly one job per tick (verified)`,
    );
  }
  return rows;
}

if (require.main === module) {
  void (async () => {
    const real = Boolean(process.env.MONGODB_URI && process.env.KAFKA_BROKERS);
    const devstack = real ? undefined : await spawnDevstack('infra');
    try {
      await benchScheduleTicks({
        mongoUri: process.env.MONGODB_URI ?? devstack!.info.mongoUri,
        brokers: process.env.KAFKA_BROKERS ?? devstack!.info.brokers.join(','),
      });
    } finally {
      devstack?.process.kill('SIGTERM');
    }
    process.exit(0);
  })().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
