// Job-service throughput: jobs/s for create → claim → complete of no-op jobs with 1, 4 and 8
// SDK workers over gRPC, and in the same run BullMQ on a local redis-server (started here on a
// free port) and pg-boss on a local PostgreSQL (started here, default durability; skipped when
// PostgreSQL is not installed) doing the same no-op work with the same worker counts, concurrency
// and warm-up. Also the create → completed latency, p50/p99, of those jobs and of jobs created one
// at a time, and the ratios to pg-boss, the peer that also commits each job durably.
//
//   npx tsx bench/job/run.ts            (JOBS=10000 CONCURRENCY=16 PREFETCH=16 WORKERS=1,4,8
//                                        WARMUP_JOBS=10000 LATENCY_JOBS=200)
//   BENCH_PROFILE_DIR=/tmp/prof         also writes CPU profiles of the server processes there
//   BENCH_SINGLE_CALLS=1                one CreateJob call per job (no SDK producer)
//   BENCH_PEERS=0                       Trellis alone, no BullMQ and pg-boss runs
//   BENCH_SCHEDULES=0                   leaves out the last section, schedule ticks/s for 1,000
//                                        schedules due at once (bench/job/schedules.ts)
//   BENCH_RETENTION=0                   skips the retention run: RETENTION_JOBS (100000) jobs through
//                                       a job-service keeping SUCCEEDED jobs 5 s / at most 5,000,
//                                       the jobs collection counted every 10,000 (it stays flat)
//
// The producer is the SDK's createJobProducer (concurrent creates share CreateJobs calls) and the
// workers report completions through CompleteJobs the same way; BullMQ's producer is Queue.add,
// pg-boss's is send (then it wakes its workers, as notifyWorker does).
//
// The job-service runs in a process of its own (apps/job-service/src/main.ts), the producer and the
// workers here. MONGODB_URI / KAFKA_BROKERS select real servers; otherwise the devstack servers
// run in another child process (as a database would). Figures are printed, never asserted.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker as BullWorker } from 'bullmq';
import { MongoClient } from 'mongodb';
import PgBoss from 'pg-boss';
import { jobV1 } from '@trellis/contracts';
import { createJobProducer, createWorker, type JobServiceClient } from '@trellis/job-worker';
import { createGrpcClient } from '@trellis/platform/grpc';
import { createLogger } from '@trellis/platform/logging';
import { percentile } from '../support/percentile';
import { startPostgres, type Postgres } from '../support/postgres';
import { treeCpuMs } from '../support/proc';
import { freePort, startJobServiceProcess } from './job-service-process';
import { benchScheduleTicks } from './schedules';
import { spawnDevstack } from '../support/spawn-devstack';

const JOBS = Number(process.env.JOBS ?? 10_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 16);
/**
 * Jobs a Trellis worker claims ahead of its free slots (WorkerOptions.prefetch), so that, like
 * pg-boss's loop, which fetches its next batch without waiting for the last one's completion, it
 * runs jobs while it reports others: two batches ahead, three CompleteJobs calls in flight (one
 * batch ahead gave 0.96× pg-boss at 1 worker where two gave more, in the same conditions).
 */
const PREFETCH = Number(process.env.PREFETCH ?? 2 * CONCURRENCY);
const WORKER_COUNTS = (process.env.WORKERS ?? '1,4,8').split(',').map(Number);
const IN_FLIGHT_CREATES = 64;
/** Jobs created one at a time after the throughput run, for the latency of an unloaded queue. */
const LATENCY_JOBS = Number(process.env.LATENCY_JOBS ?? 200);
// Jobs each configuration runs before the measured ones, so JIT compilation of the freshly started
// job-service (and of the BullMQ client) is not counted, as h2load's --warm-up-time does. V8 keeps
// optimizing the MongoDB driver's and kafkajs's code paths for thousands of jobs: after 500, a
// job still cost 1.5–1.7 CPU ms in all at 8 workers, after 5,000 1.0–1.3 and after 15,000 ~1.0.
const WARMUP_JOBS = Number(process.env.WARMUP_JOBS ?? 10_000);
const SINGLE_CALLS = process.env.BENCH_SINGLE_CALLS === '1';
/** BENCH_PEERS=0: Trellis alone, without the BullMQ and pg-boss runs (for quick iterations). */
const PEERS = process.env.BENCH_PEERS !== '0';
const RETENTION_JOBS =
  process.env.BENCH_RETENTION === '0' ? 0 : Number(process.env.RETENTION_JOBS ?? 100_000);
/** The retention run's type: SUCCEEDED jobs kept 5 s, at most 5,000 (a pass every second). */
const RETENTION_TYPE = {
  name: 'bench.noop',
  lease_seconds: 60,
  retention: { succeeded: { max_age_seconds: 5, max_count: 5_000 } },
};

/** BENCH_PROFILE_DIR=/tmp/prof: CPU profiles of the server processes go to /tmp/prof/<name>. */
function profileArgs(name: string): string[] {
  const dir = process.env.BENCH_PROFILE_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];
}

/**
 * CPU time (user + system, ms) used so far by this process and each of `servers` (job-service,
 * devstack or redis-server): CPU per job does not depend on how busy the rest of the machine is.
 */
function cpuMs(servers: Server[]): number[] {
  const ms = (pid: number | 'self') => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, USER_HZ = 100
  };
  return [ms('self'), ...servers.map((s) => (s.tree ? treeCpuMs(s.pid) : ms(s.pid)))];
}

interface Server {
  name: string;
  pid: number;
  /** Count its descendants too: PostgreSQL's backends are children of the postmaster. */
  tree?: boolean;
}

interface Percentiles {
  p50: number;
  p99: number;
}

interface Figures {
  jobsPerSecond: number;
  /** CPU ms per job here (producer and workers, or BullMQ's) and in each server process. */
  cpuMsPerJob: { here: number; servers: Array<{ name: string; ms: number }> };
  /**
   * Create → completed latency (ms) of the throughput run's jobs (mostly time spent queued behind
   * the backlog the producer builds) and of jobs created one at a time (an unloaded queue).
   */
  latencyMs: { saturated: Percentiles; oneAtATime: Percentiles };
}

function cpuPerJob(before: number[], servers: Server[]): Figures['cpuMsPerJob'] {
  const after = cpuMs(servers);
  return {
    here: (after[0] - before[0]) / JOBS,
    servers: servers.map((s, i) => ({ name: s.name, ms: (after[i + 1] - before[i + 1]) / JOBS })),
  };
}

const totalCpu = (cpu: Figures['cpuMsPerJob']) =>
  cpu.servers.reduce((sum, s) => sum + s.ms, cpu.here);

/** Peak resident memory (VmHWM) of a process, in MB. */
function peakRssMb(pid: number | 'self'): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

const cpuText = (cpu: Figures['cpuMsPerJob']) =>
  `${totalCpu(cpu).toFixed(2)} CPU ms/job = ${cpu.here.toFixed(2)} here${cpu.servers
    .map((s) => ` + ${s.ms.toFixed(2)} ${s.name}`)
    .join('')}`;

const latencyText = (l: Percentiles) => `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)}`;

const figuresText = (f: Figures) =>
  `${f.jobsPerSecond.toFixed(0)} jobs/s (${cpuText(f.cpuMsPerJob)}), create → completed p50/p99 ${latencyText(f.latencyMs.saturated)} ms, one at a time ${latencyText(f.latencyMs.oneAtATime)} ms`;

/** Runs `produce(i)` for i in [0, n) with at most `limit` in flight. */
async function pump(n: number, limit: number, produce: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < n) await produce(next++);
    }),
  );
}

/**
 * Runs of jobs and their create → completed latency: from the call creating a job to the
 * acknowledgement of its completion (the completion call's OK, or BullMQ's 'completed' event).
 */
class Progress {
  private readonly createdAt = new Map<string, number>();
  private readonly completedAt = new Map<string, number>();
  private done = 0;
  private target = 0;
  private reached = () => {};

  /** Forgets the latencies measured so far. */
  reset(): void {
    this.createdAt.clear();
    this.completedAt.clear();
  }

  /**
   * Creates `n` jobs through `create` (which gives the job's id), up to IN_FLIGHT_CREATES calls at
   * once; resolves once all have completed.
   */
  async run(n: number, create: (i: number) => Promise<string>): Promise<void> {
    this.target = this.done + n;
    const allCompleted = new Promise<void>((resolve) => (this.reached = resolve));
    await pump(n, IN_FLIGHT_CREATES, async (i) => {
      const calledAt = performance.now();
      this.createdAt.set(await create(i), calledAt);
    });
    await allCompleted;
  }

  completed(jobId: string): void {
    this.completedAt.set(jobId, performance.now());
    if (++this.done >= this.target) this.reached();
  }

  /** Creates `n` jobs one after the other, each once the previous one has completed. */
  async oneAtATime(n: number, create: (i: number) => Promise<string>): Promise<void> {
    for (let i = 0; i < n; i++) await this.run(1, () => create(i));
  }

  /** Latency percentiles (ms) since the last reset. */
  latencyMs(): Percentiles {
    const latencies: number[] = [];
    for (const [id, calledAt] of this.createdAt) {
      const completedAt = this.completedAt.get(id);
      if (completedAt !== undefined) latencies.push(completedAt - calledAt);
    }
    latencies.sort((a, b) => a - b);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  }
}

/**
 * The same for every queue: WARMUP_JOBS unmeasured, then JOBS measured (jobs/s, CPU per job here
 * and in `servers`, latency), then LATENCY_JOBS created one at a time.
 */
async function measure(
  progress: Progress,
  create: (i: number) => Promise<string>,
  servers: Server[],
): Promise<Figures> {
  if (WARMUP_JOBS > 0) await progress.run(WARMUP_JOBS, create);
  progress.reset();
  const started = performance.now();
  const cpuBefore = cpuMs(servers);
  await progress.run(JOBS, create);
  const seconds = (performance.now() - started) / 1000;
  const cpuMsPerJob = cpuPerJob(cpuBefore, servers);
  const saturated = progress.latencyMs();
  progress.reset();
  await progress.oneAtATime(LATENCY_JOBS, create);
  return {
    jobsPerSecond: JOBS / seconds,
    cpuMsPerJob,
    latencyMs: { saturated, oneAtATime: progress.latencyMs() },
  };
}

/** The worker's client, telling `progress` of each job a completion call reports completed. */
function reportingCompletions(client: JobServiceClient, progress: Progress): JobServiceClient {
  return {
    claimJobs: (request, options) => client.claimJobs(request, options),
    heartbeatJob: (request, options) => client.heartbeatJob(request, options),
    failJob: (request, options) => client.failJob(request, options),
    async completeJob(request, options) {
      const response = await client.completeJob(request, options);
      progress.completed(request.jobId ?? '');
      return response;
    },
    async completeJobs(request, options) {
      const response = await client.completeJobs(request, options);
      response.results.forEach((result, i) => {
        if ((result.status?.code ?? 0) === 0)
          progress.completed(request.completions?.[i]?.jobId ?? '');
      });
      return response;
    },
  };
}

async function benchJobService(
  workers: number,
  infra: { mongoUri: string; brokers: string; pid?: number },
): Promise<Figures> {
  const service = await startJobServiceProcess(
    infra,
    `bench_job_${workers}_${Date.now()}`,
    profileArgs('job-service'),
  );
  const servers: Server[] = [
    { name: 'job-service', pid: service.process.pid! },
    ...(infra.pid ? [{ name: 'devstack', pid: infra.pid }] : []),
  ];
  const progress = new Progress();
  const { producer, create, stop } = startBenchClients(service.address, workers, progress);
  const figures = await measure(progress, create, servers);
  console.log(`  job-service process peak RSS ${peakRssMb(service.process.pid!).toFixed(0)} MB`);
  if (process.env.BENCH_RPC_COUNTS) {
    const text = await (await fetch(service.metricsUrl)).text();
    for (const line of text.split('\n'))
      if (line.startsWith('rpc_server_requests_total')) console.log(line);
  }
  const stats = await producer.client.getQueueStats({ types: ['bench.noop'] });
  const succeeded = Number(stats.stats[0]?.succeeded ?? 0);
  const created = WARMUP_JOBS + JOBS + LATENCY_JOBS;
  if (succeeded !== created) throw new Error(`${succeeded} jobs SUCCEEDED, expected ${created}`);
  await stop();
  await stopProcess(service.process);
  return figures;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/**
 * The producer and `workers` SDK workers of bench.noop on the job-service at `address`, each
 * completion reported to `progress`.
 */
function startBenchClients(address: string, workers: number, progress: Progress) {
  const logger = createLogger({ service: 'bench', level: 'warn' });
  const producer = createGrpcClient(jobV1.JobServiceDefinition, { address });
  const jobProducer = SINGLE_CALLS
    ? producer.client
    : createJobProducer({ client: producer.client });
  const clients = Array.from({ length: workers }, () =>
    createGrpcClient(jobV1.JobServiceDefinition, { address }),
  );
  // A job counts as done once its completion call returns OK, as BullMQ's 'completed' event fires
  // once moveToFinished has returned: counted here rather than by polling GetQueueStats, whose
  // count over every job would be measured as the service's work.
  const pool = clients.map((c, i) =>
    createWorker({
      client: reportingCompletions(c.client, progress),
      types: ['bench.noop'],
      concurrency: CONCURRENCY,
      prefetch: PREFETCH,
      workerId: `bench-${i}`,
      logger,
      claimWaitMs: 1_000,
      async handler() {
        return {};
      },
    }),
  );
  const create = async (i: number) =>
    (await jobProducer.createJob({ type: 'bench.noop', payload: { i } })).job!.id;
  return {
    producer,
    create,
    async stop() {
      await Promise.all(pool.map((w) => w.stop({ deadlineMs: 5_000 })));
      for (const c of [producer, ...clients]) c.close();
    },
  };
}

/**
 * RETENTION_JOBS jobs through a job-service whose type keeps SUCCEEDED jobs 5 s / at most 5,000:
 * the jobs collection's size every 10,000 jobs, which retention keeps flat.
 */
async function benchRetention(
  workers: number,
  infra: { mongoUri: string; brokers: string },
): Promise<void> {
  const database = `bench_job_retention_${Date.now()}`;
  const service = await startJobServiceProcess(infra, database, [], {
    JOB_TYPES: JSON.stringify([RETENTION_TYPE]),
    JOB_RETENTION_INTERVAL_MS: '1000',
  });
  const progress = new Progress();
  const { create, stop } = startBenchClients(service.address, workers, progress);
  const mongo = new MongoClient(infra.mongoUri);
  const jobs = mongo.db(database).collection('jobs');
  const step = 10_000;
  const started = performance.now();
  const sizes: number[] = [];
  try {
    for (let done = 0; done < RETENTION_JOBS;) {
      const n = Math.min(step, RETENTION_JOBS - done);
      await progress.run(n, (i) => create(done + i));
      done += n;
      sizes.push(await jobs.countDocuments({}));
      console.log(
        `  retention: ${done} jobs done in ${((performance.now() - started) / 1000).toFixed(0)} s, jobs collection ${sizes[sizes.length - 1]} documents`,
      );
    }
    const metrics = await (await fetch(service.metricsUrl)).text();
    const removed = metrics
      .split('\n')
      .filter((line) => line.startsWith('job_retention_removed_total{'))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
    console.log(
      `retention (SUCCEEDED kept 5 s / at most 5,000, a pass every second, ${workers} workers): jobs collection ${sizes.join(', ')} documents every ${step} of ${RETENTION_JOBS} jobs (max ${Math.max(...sizes)}); ${removed} removed`,
    );
  } finally {
    await mongo.close();
    await stop();
    await stopProcess(service.process);
  }
}

async function startRedis(): Promise<{ port: number; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  child.stdout!.resume();
  return { port, process: child };
}

async function benchBullmq(
  workers: number,
  redis: { port: number; pid?: number },
): Promise<Figures> {
  const port = redis.port;
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const name = `bench-${workers}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  const progress = new Progress();
  const pool = Array.from(
    { length: workers },
    () => new BullWorker(name, async () => ({}), { connection, concurrency: CONCURRENCY }),
  );
  for (const w of pool) w.on('completed', (job) => progress.completed(job.id!));
  await Promise.all(pool.map((w) => w.waitUntilReady()));
  const create = async (i: number) => (await queue.add('noop', { i })).id!;
  const servers: Server[] = redis.pid ? [{ name: 'redis-server', pid: redis.pid }] : [];
  const figures = await measure(progress, create, servers);
  await Promise.all(pool.map((w) => w.close()));
  await queue.obliterate({ force: true });
  await queue.close();
  return figures;
}

/**
 * One pg-boss worker, the loop of pg-boss's own `work()` (fetch a batch, run it, complete it without
 * waiting for the completion before the next fetch) written out so that a full batch is re-fetched
 * at once, a completion is counted when its `complete` returns, and the producer can wake it the
 * way `notifyWorker` does. An empty or partial fetch waits for a wake-up or the polling interval.
 */
function pgBossWorker(boss: PgBoss, queue: string, progress: Progress) {
  let stopping = false;
  let wake = () => {};
  let woken = false;
  const loop = (async () => {
    while (!stopping) {
      woken = false;
      const jobs = await boss.fetch<{ i: number }>(queue, { batchSize: CONCURRENCY });
      if (jobs.length > 0) {
        await Promise.all(jobs.map(async () => ({})));
        const ids = jobs.map((j) => j.id);
        void boss.complete(queue, ids).then(() => ids.forEach((id) => progress.completed(id)));
      }
      if (jobs.length === CONCURRENCY || woken || stopping) continue;
      // pg-boss's minimum polling interval (500 ms); the producer's wake-up cuts it short.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  })();
  return {
    wake() {
      woken = true;
      wake();
    },
    async stop() {
      stopping = true;
      wake();
      await loop;
    },
  };
}

async function benchPgBoss(workers: number, postgres: Postgres): Promise<Figures> {
  const queue = `bench-${workers}-${Date.now()}`;
  // The producer's instance runs pg-boss's maintenance as a deployment would; the workers' do not.
  const producer = new PgBoss({ connectionString: postgres.connectionString });
  producer.on('error', (err) => console.error('pg-boss:', err));
  await producer.start();
  await producer.createQueue(queue);
  const bosses = Array.from(
    { length: workers },
    () =>
      new PgBoss({
        connectionString: postgres.connectionString,
        supervise: false,
        schedule: false,
        migrate: false,
      }),
  );
  await Promise.all(bosses.map((b) => b.start()));
  const progress = new Progress();
  const pool = bosses.map((b) => pgBossWorker(b, queue, progress));
  const create = async (i: number) => {
    const id = await producer.send(queue, { i });
    for (const w of pool) w.wake();
    return id!;
  };
  const servers: Server[] = [{ name: 'postgres', pid: postgres.pid, tree: true }];
  const figures = await measure(progress, create, servers);
  await Promise.all(pool.map((w) => w.stop()));
  await Promise.all([...bosses, producer].map((b) => b.stop({ graceful: false, wait: true })));
  return figures;
}

async function main(): Promise<void> {
  const real = Boolean(process.env.MONGODB_URI && process.env.KAFKA_BROKERS);
  const devstack = real ? undefined : await spawnDevstack('infra', profileArgs('devstack'));
  const infra = {
    mongoUri: process.env.MONGODB_URI ?? devstack!.info.mongoUri,
    brokers: process.env.KAFKA_BROKERS ?? devstack!.info.brokers.join(','),
  };
  const redis = await startRedis();
  const postgres = startPostgres(await freePort());
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(
        ' ',
      )}, ${cpus().length} cores; jobs per run: ${JOBS} after ${WARMUP_JOBS} unmeasured, worker concurrency: ${CONCURRENCY} (Trellis prefetch ${PREFETCH}), producer: ${SINGLE_CALLS ? 'CreateJob per job' : 'SDK createJobProducer (CreateJobs)'}, MongoDB + Kafka: ${devstack ? 'devstack (own process)' : 'MONGODB_URI / KAFKA_BROKERS'}, BullMQ: redis-server, pg-boss: ${postgres ? 'local PostgreSQL (fsync on)' : 'skipped, PostgreSQL is not installed (Debian `postgresql`)'}`,
  );
  const rows: Array<{ workers: number; trellis: Figures; bullmq?: Figures; pgBoss?: Figures }> = [];
  try {
    for (const workers of WORKER_COUNTS) {
      const trellis = await benchJobService(workers, { ...infra, pid: devstack?.process.pid });
      const bullmq = PEERS
        ? await benchBullmq(workers, { port: redis.port, pid: redis.process.pid })
        : undefined;
      const pgBoss = PEERS && postgres ? await benchPgBoss(workers, postgres) : undefined;
      rows.push({ workers, trellis, bullmq, pgBoss });
      console.log(
        `workers=${workers}  job-service ${figuresText(trellis)}  ${bullmq ? `BullMQ ${figuresText(bullmq)}` : ''}${pgBoss ? `  pg-boss ${figuresText(pgBoss)}` : ''}`,
      );
    }
    // Schedules: ticks/s of 1,000 schedules due at once, on the same devstack (BENCH_SCHEDULES=0: skip).
    if (process.env.BENCH_SCHEDULES !== '0') await benchScheduleTicks(infra);
    if (RETENTION_JOBS > 0) await benchRetention(Math.max(...WORKER_COUNTS), infra);
    console.log(
      `peak RSS: this process ${peakRssMb('self').toFixed(0)} MB, ${devstack ? `devstack ${peakRssMb(devstack.process.pid!).toFixed(0)} MB, ` : ''}redis-server ${peakRssMb(redis.process.pid!).toFixed(0)} MB`,
    );
  } finally {
    redis.process.kill('SIGTERM');
    devstack?.process.kill('SIGTERM');
    postgres?.stop();
  }
  // CPU ms/job: "here" is this process (the producer and the workers: the SDK's, BullMQ's or
  // pg-boss's), then each server process (job-service and devstack, redis-server, or PostgreSQL's
  // postmaster and backends summed); unlike jobs/s it barely moves with the machine's load.
  const perProcess = (cpu: Figures['cpuMsPerJob']) =>
    [cpu.here, ...cpu.servers.map((s) => s.ms)].map((ms) => ms.toFixed(2)).join(' + ');
  const ratio = (a: Figures, b?: Figures) =>
    b ? `${(a.jobsPerSecond / b.jobsPerSecond).toFixed(2)}×` : '-';
  console.table(
    rows.map((r) => ({
      workers: r.workers,
      'Trellis jobs/s': Math.round(r.trellis.jobsPerSecond),
      'pg-boss jobs/s': r.pgBoss ? Math.round(r.pgBoss.jobsPerSecond) : '-',
      'BullMQ jobs/s': r.bullmq ? Math.round(r.bullmq.jobsPerSecond) : '-',
      'Trellis/pg-boss': ratio(r.trellis, r.pgBoss),
      'BullMQ/pg-boss': r.bullmq ? ratio(r.bullmq, r.pgBoss) : '-',
      'Trellis CPU ms/job (here + job-service + devstack)': perProcess(r.trellis.cpuMsPerJob),
      'pg-boss CPU ms/job (here + postgres)': r.pgBoss ? perProcess(r.pgBoss.cpuMsPerJob) : '-',
      'BullMQ CPU ms/job (here + redis)': r.bullmq ? perProcess(r.bullmq.cpuMsPerJob) : '-',
      'one at a time p50/p99 ms Trellis': latencyText(r.trellis.latencyMs.oneAtATime),
      'pg-boss': r.pgBoss ? latencyText(r.pgBoss.latencyMs.oneAtATime) : '-',
      BullMQ: r.bullmq ? latencyText(r.bullmq.latencyMs.oneAtATime) : '-',
    })),
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
