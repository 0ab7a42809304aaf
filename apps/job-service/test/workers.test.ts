import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobV1 } from '@trellis/contracts';
import { waitFor } from '@trellis/platform/testing';
import { startHarness, type Harness } from './harness';

const root = join(__dirname, '..', '..', '..');
const fixture = join(__dirname, 'fixtures', 'worker-process.ts');

interface RecordLine {
  worker: string;
  ev: 'ready' | 'start' | 'end';
  job?: string;
  attempt?: number;
  t: number;
}

let h: Harness;
let dir: string;
const children: ChildProcess[] = [];

function spawnWorker(
  workerId: string,
  recordFile: string,
  concurrency: number,
  type: string,
): ChildProcess {
  const child = spawn(process.execPath, [workerBundle], {
    env: {
      ...process.env,
      NODE_PATH: join(root, 'node_modules'),
      JOB_SERVICE_ADDRESS: h.service.grpcAddress,
      WORKER_ID: workerId,
      RECORD_FILE: recordFile,
      CONCURRENCY: String(concurrency),
      JOB_TYPE: type,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

function readRecords(file: string): RecordLine[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as RecordLine);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

let workerBundle: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'job-workers-'));
  // One bundled file per worker process starts in a fraction of tsx's time; `node <bundle>` is
  // also the very process a SIGKILL hits.
  workerBundle = join(dir, 'worker-process.js');
  execFileSync(join(root, 'node_modules/.bin/esbuild'), [
    fixture,
    '--bundle',
    '--platform=node',
    '--target=node20',
    '--packages=external',
    `--tsconfig=${join(root, 'apps/job-service/tsconfig.json')}`,
    `--outfile=${workerBundle}`,
    '--log-level=warning',
  ]);
  h = await startHarness('job_workers');
});
afterAll(async () => {
  await Promise.all(children.map(stopChild));
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('a worker killed with SIGKILL mid-job: another worker re-runs the job after the lease expires', async () => {
  const file = join(dir, 'kill.jsonl');
  const victim = spawnWorker('victim', file, 1, 'test.work');
  const { job } = await h.jobs.client.createJob({
    type: 'test.work',
    payload: { n: 0, sleep_ms: 60_000, sleep_attempts: 1 },
  });
  const started = await waitFor(
    () => readRecords(file).find((r) => r.ev === 'start' && r.job === job!.id),
    { timeoutMs: 30_000, what: 'the victim to start the job' },
  );
  const exited = new Promise((resolve) => victim.once('exit', resolve));
  victim.kill('SIGKILL');
  await exited;
  const killedAt = Date.now();
  const rescuer = spawnWorker('rescuer', file, 1, 'test.work');
  const done = await waitFor(
    async () => {
      const j = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
      return j.state === jobV1.JobState.JOB_STATE_SUCCEEDED ? j : undefined;
    },
    { timeoutMs: 30_000, what: 'the job to be re-run' },
  );
  expect(done.attempts).toBe(2);
  expect(done.workerId).toBe('');
  expect(done.result).toEqual({ worker: 'rescuer' });
  expect(done.lastError?.code).toBe('LEASE_EXPIRED');
  const rerun = readRecords(file).find((r) => r.ev === 'start' && r.worker === 'rescuer')!;
  expect(rerun.attempt).toBe(2);
  // The re-run began after the kill and after the victim's 2 s lease had run out.
  expect(rerun.t).toBeGreaterThan(killedAt);
  expect(rerun.t - started.t).toBeGreaterThanOrEqual(2_000);
  await stopChild(rescuer);
}, 60_000);

it('2,000 jobs over 5 worker processes: each SUCCEEDED exactly once, no overlapping runs', async () => {
  const file = join(dir, 'many.jsonl');
  const created: string[] = [];
  const batch = 100;
  for (let i = 0; i < 2000; i += batch) {
    const responses = await Promise.all(
      Array.from({ length: batch }, (_, k) =>
        h.jobs.client.createJob({ type: 'test.bulk', payload: { n: i + k } }),
      ),
    );
    created.push(...responses.map((r) => r.job!.id));
  }
  const workers = Array.from({ length: 5 }, (_, i) => spawnWorker(`w${i}`, file, 8, 'test.bulk'));
  await waitFor(
    async () => {
      const stats = await h.jobs.client.getQueueStats({ types: ['test.bulk'] });
      return stats.stats[0]?.succeeded === 2000n;
    },
    { timeoutMs: 280_000, intervalMs: 1_000, what: '2,000 SUCCEEDED jobs' },
  );
  await Promise.all(workers.map(stopChild));

  const records = readRecords(file).filter((r) => r.ev !== 'ready');
  const byJob = new Map<string, RecordLine[]>();
  for (const r of records) byJob.set(r.job!, [...(byJob.get(r.job!) ?? []), r]);
  expect(byJob.size).toBe(2000);
  for (const id of created) {
    const lines = byJob.get(id) ?? [];
    const starts = lines.filter((l) => l.ev === 'start').sort((a, b) => a.t - b.t);
    const ends = lines.filter((l) => l.ev === 'end').sort((a, b) => a.t - b.t);
    expect(ends.length).toBeGreaterThanOrEqual(1);
    // Intervals [start_i, end_i] of one job never overlap.
    for (let i = 1; i < starts.length; i++)
      expect(starts[i].t).toBeGreaterThanOrEqual(ends[i - 1].t);
  }
  // Every job went SUCCEEDED once: one JobSucceeded event each on job.events.v1 (distinct event
  // ids: delivery is at least once) and state SUCCEEDED in MongoDB.
  const wanted = new Set(created);
  const succeeded = () => {
    const perJob = new Map<string, Set<string>>();
    for (const e of h.events) {
      if (e.event.eventType !== 'trellis.job.v1.JobSucceeded' || !wanted.has(e.jobId)) continue;
      perJob.set(e.jobId, (perJob.get(e.jobId) ?? new Set()).add(e.eventId));
    }
    return perJob;
  };
  await waitFor(() => succeeded().size === 2000, {
    timeoutMs: 60_000,
    what: '2,000 JobSucceeded events',
  });
  expect([...succeeded().values()].every((ids) => ids.size === 1)).toBe(true);
  const db = h.service.context.mongo.db;
  const notDone = await db
    .collection('jobs')
    .countDocuments({ _id: { $in: created } as never, state: { $ne: 'SUCCEEDED' } });
  expect(notDone).toBe(0);
  // All five processes took part.
  expect(new Set(records.map((r) => r.worker)).size).toBe(5);
}, 300_000);
