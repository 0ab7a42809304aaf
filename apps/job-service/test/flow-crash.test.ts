import { createServer } from 'node:net';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { jobV1 } from '@trellis/contracts';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { createWorker, type Worker } from '@trellis/job-worker';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { startServiceProcess, type ServiceProcess } from '@trellis/platform/testing/crash';

// kill -9 of the job-service in the middle of a 100-child flow: the parent's counter is written
// in each child's completion transaction, so after a restart the flow completes, the parent runs
// once, and nothing is left WAITING_CHILDREN.

const MAIN = join(__dirname, '..', 'src', 'main.ts');
const CHILDREN = 100;
const DATABASE = 'job_flow_crash';
const { JobState } = jobV1;

let mongo: MongoDevServer;
let broker: KafkaDevBroker;
let service: ServiceProcess | undefined;
let client: GrpcClientHandle<typeof jobV1.JobServiceDefinition>;
let worker: Worker | undefined;

/** A port free now, so that the restarted service listens where the workers connect. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

afterAll(async () => {
  await worker?.stop({ deadlineMs: 1_000 });
  client?.close();
  await service?.stop();
  await broker?.stop();
  await mongo?.stop();
});

it('completes a 100-child flow after a kill -9 of the job-service mid-flow; the parent runs exactly once', async () => {
  mongo = await startMongoDevServer({ port: 0 });
  broker = await startKafkaDevBroker({ port: 0 });
  const port = await freePort();
  const env = {
    GRPC_PORT: String(port),
    MONGODB_URI: mongo.uri,
    MONGODB_DATABASE: DATABASE,
    KAFKA_BROKERS: broker.brokers.join(','),
    REAPER_INTERVAL_MS: '200',
    CLAIM_POLL_INTERVAL_MS: '100',
    JOB_TYPES: JSON.stringify([
      // Short leases: a child whose worker lost the service is re-run soon after the restart.
      { name: 'flow.child', max_attempts: 20, lease_seconds: 2 },
      { name: 'flow.parent', max_attempts: 20, lease_seconds: 2 },
    ]),
  };
  service = await startServiceProcess(MAIN, env);
  client = createGrpcClient(jobV1.JobServiceDefinition, { address: service.address });

  const childRuns = new Map<string, number>();
  const parentRuns: Array<{ id: string; childrenResults: number }> = [];
  worker = createWorker({
    client: client.client,
    types: ['flow.child', 'flow.parent'],
    concurrency: 8,
    claimWaitMs: 500,
    heartbeatIntervalMs: 300,
    // Its calls fail while the service is down (by design here): kept out of the test output.
    logger: captureLogger('job-worker').logger,
    async handler({ job, childrenResults }) {
      if (job.type === 'flow.parent') {
        parentRuns.push({ id: job.id, childrenResults: Object.keys(childrenResults).length });
        return { sum: Object.values(childrenResults).reduce((n, r) => n + Number(r.n), 0) };
      }
      childRuns.set(job.id, (childRuns.get(job.id) ?? 0) + 1);
      // Long enough that the flow is still running when the service dies.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { n: Number(job.payload!.n) };
    },
  });

  const { flow } = await client.client.createFlow({
    type: 'flow.parent',
    payload: {},
    children: Array.from({ length: CHILDREN }, (_, n) => ({ type: 'flow.child', payload: { n } })),
  });
  const parentId = flow!.job!.id;
  const childIds = flow!.children.map((c) => c.job!.id);

  // Some children done, most not: the service dies with completions in flight.
  await waitFor(() => childRuns.size >= 25, { what: '25 children running', intervalMs: 5 });
  await service.kill();
  const ranBeforeKill = childRuns.size;
  expect(ranBeforeKill).toBeLessThan(CHILDREN);
  service = await startServiceProcess(MAIN, env);

  const parent = await waitFor(
    async () => {
      const job = (await client.client.getJob({ jobId: parentId })).job!;
      return job.state === JobState.JOB_STATE_SUCCEEDED ? job : undefined;
    },
    { what: 'the parent to succeed after the restart', timeoutMs: 60_000, intervalMs: 100 },
  );
  expect(parent.attempts).toBe(1);
  expect(parent.result).toEqual({ sum: (CHILDREN * (CHILDREN - 1)) / 2 });
  expect(parentRuns).toEqual([{ id: parentId, childrenResults: CHILDREN }]);
  // Every child ran to SUCCEEDED (some twice: the crash cost them their lease, at-least-once).
  expect(childRuns.size).toBe(CHILDREN);
  const db = new MongoClient(mongo.uri);
  try {
    const jobs = db.db(DATABASE).collection<{ _id: string; state: string }>('jobs');
    const states = await jobs
      .aggregate<{ _id: string; count: number }>([
        { $match: { _id: { $in: childIds } } },
        { $group: { _id: '$state', count: { $sum: 1 } } },
      ])
      .toArray();
    expect(states).toEqual([{ _id: 'SUCCEEDED', count: CHILDREN }]);
    expect(await jobs.countDocuments({ state: 'WAITING_CHILDREN' })).toBe(0);
    const stored = await jobs.findOne({ _id: parentId });
    expect(stored).toMatchObject({ child_count: CHILDREN, pending_children: 0 });
  } finally {
    await db.close();
  }
}, 180_000);
