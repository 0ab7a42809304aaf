import { Status } from 'nice-grpc';
import { jobV1 } from '@trellis/contracts';
import { createWorker } from '@trellis/job-worker';
import { waitFor } from '@trellis/platform/testing';
import { startHarness, type Harness } from './harness';
import { fieldsOf, reasonOf, rpcError } from './rpc-errors';

const { JobState, ChildFailurePolicy } = jobV1;
// Liveness bounds, not speed: on a loaded 2-core machine a flow's levels and its events take a while.
jest.setTimeout(30_000);
let h: Harness;

beforeAll(async () => {
  h = await startHarness('job_service_flows');
  // A type per test, so that no test claims another's jobs.
  for (const name of ['flow.order', 'flow.fail', 'flow.ignore', 'flow.cancel', 'flow.valid'])
    await h.jobs.client.registerJobType({
      jobType: { name, payloadSchema: { type: 'object' }, defaultMaxAttempts: 1 },
    });
});
afterAll(async () => {
  await h?.stop();
});

type FlowRequest = Parameters<Harness['jobs']['client']['createFlow']>[0];

/** A flow node of `type` with a payload naming it, and children. */
const node = (type: string, name: string, children: FlowRequest[] = []): FlowRequest => ({
  type,
  payload: { name },
  children,
});

const getJob = async (jobId: string) => (await h.jobs.client.getJob({ jobId })).job!;

/** FailJob, not retryable: the job ends DEAD (or CANCELLED when cancellation was requested). */
const failForGood = (jobId: string, leaseToken: string, errorMessage = 'broken') =>
  h.jobs.client.failJob({ jobId, leaseToken, errorMessage, retryable: false });

const claim = async (type: string, maxJobs = 10) =>
  (await h.jobs.client.claimJobs({ workerId: 'flow-test', types: [type], maxJobs })).jobs;

/** The flow's jobs by the `name` in their payloads. */
function byName(flow: jobV1.FlowNode | undefined): Map<string, jobV1.Job> {
  const jobs = new Map<string, jobV1.Job>();
  const visit = (n: jobV1.FlowNode) => {
    jobs.set(String(n.job!.payload!.name), n.job!);
    n.children.forEach(visit);
  };
  if (flow) visit(flow);
  return jobs;
}

describe('flows', () => {
  it('runs a 3-level flow in order (grandchildren, children, parent), each parent reading its children’s results', async () => {
    const type = 'flow.order';
    const { flow, created } = await h.jobs.client.createFlow(
      node(type, 'root', [
        node(type, 'a', [node(type, 'a1'), node(type, 'a2')]),
        node(type, 'b', [node(type, 'b1')]),
        node(type, 'c'),
      ]),
    );
    expect(created).toBe(true);
    const jobs = byName(flow);
    expect(jobs.get('root')).toMatchObject({
      state: JobState.JOB_STATE_WAITING_CHILDREN,
      parentId: '',
      childCount: 3,
      pendingChildren: 3,
      onChildFailure: ChildFailurePolicy.CHILD_FAILURE_POLICY_FAIL_PARENT,
    });
    expect(jobs.get('a')).toMatchObject({
      state: JobState.JOB_STATE_WAITING_CHILDREN,
      parentId: jobs.get('root')!.id,
      childCount: 2,
    });
    expect(jobs.get('a1')).toMatchObject({
      state: JobState.JOB_STATE_PENDING,
      parentId: jobs.get('a')!.id,
      childCount: 0,
    });
    const stats = await h.jobs.client.getQueueStats({ types: [type] });
    expect(stats.stats[0]).toMatchObject({ waitingChildren: 3n, pending: 4n });

    const trace: string[] = [];
    const seen = new Map<string, Record<string, Record<string, unknown>>>();
    const worker = createWorker({
      client: h.jobs.client,
      types: [type],
      concurrency: 4,
      claimWaitMs: 500,
      async handler({ job, childrenResults, children }) {
        const name = String(job.payload!.name);
        trace.push(`start ${name}`);
        seen.set(name, childrenResults);
        expect(children.map((c) => c.parentId)).toEqual(children.map(() => job.id));
        const sum = Object.values(childrenResults).reduce((n, r) => n + Number(r.count), 0);
        trace.push(`end ${name}`);
        return { name, count: sum + 1 };
      },
    });
    try {
      const root = await waitFor(
        async () => {
          const job = await getJob(jobs.get('root')!.id);
          return job.state === JobState.JOB_STATE_SUCCEEDED ? job : undefined;
        },
        { what: 'the root to succeed', timeoutMs: 30_000 },
      );
      expect(root.result).toEqual({ name: 'root', count: 7 });
      expect(root.attempts).toBe(1);
    } finally {
      await worker.stop();
    }
    // Every parent started after each of its children ended.
    const at = (entry: string) => trace.indexOf(entry);
    for (const [parent, kids] of Object.entries({
      root: ['a', 'b', 'c'],
      a: ['a1', 'a2'],
      b: ['b1'],
    }))
      for (const kid of kids) expect(at(`start ${parent}`)).toBeGreaterThan(at(`end ${kid}`));
    expect(trace.filter((e) => e.startsWith('start'))).toHaveLength(7);
    // The parent read its children's results, keyed by child id.
    expect(seen.get('root')).toEqual({
      [jobs.get('a')!.id]: { name: 'a', count: 3 },
      [jobs.get('b')!.id]: { name: 'b', count: 2 },
      [jobs.get('c')!.id]: { name: 'c', count: 1 },
    });
    expect(seen.get('a')).toEqual({
      [jobs.get('a1')!.id]: { name: 'a1', count: 1 },
      [jobs.get('a2')!.id]: { name: 'a2', count: 1 },
    });
    expect(seen.get('a1')).toEqual({});
    // The parent's release is an event of its own, after its creation.
    const events = await h.eventsOf(jobs.get('a')!.id, 4);
    expect(events[0].payload).toMatchObject({
      parentId: jobs.get('root')!.id,
      childCount: 2,
    });
    expect(events.map((e) => e.eventType)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobChildrenCompleted',
      'trellis.job.v1.JobStarted',
      'trellis.job.v1.JobSucceeded',
    ]);
    // The children are listed by parent.
    const listed = await h.jobs.client.listJobs({ parentId: jobs.get('root')!.id });
    expect(listed.jobs.map((j) => j.payload!.name).sort()).toEqual(['a', 'b', 'c']);
  }, 60_000);

  it('FAIL_PARENT: a DEAD grandchild fails its parent and the root, naming the child, and cancels the unfinished rest', async () => {
    const type = 'flow.fail';
    const { flow } = await h.jobs.client.createFlow(
      node(type, 'root', [node(type, 'a', [node(type, 'a1')]), node(type, 'b'), node(type, 'c')]),
    );
    const jobs = byName(flow);
    const id = (name: string) => jobs.get(name)!.id;
    const claimed = await claim(type, 3);
    expect(claimed.map((c) => c.job!.payload!.name).sort()).toEqual(['a1', 'b', 'c']);
    const leaseOf = (name: string) => claimed.find((c) => c.job!.payload!.name === name)!;
    // c finished before the failure: it stays SUCCEEDED.
    await h.jobs.client.completeJob({ jobId: id('c'), leaseToken: leaseOf('c').leaseToken });
    await failForGood(id('a1'), leaseOf('a1').leaseToken, 'broken');
    const a = await getJob(id('a'));
    expect(a.state).toBe(JobState.JOB_STATE_DEAD);
    expect(a.lastError).toMatchObject({ code: 'CHILD_FAILED' });
    expect(a.lastError!.message).toContain(id('a1'));
    const root = await getJob(id('root'));
    expect(root.state).toBe(JobState.JOB_STATE_DEAD);
    expect(root.lastError!.message).toContain(id('a'));
    // b was RUNNING: its worker is asked to stop; it ends CANCELLED when it acknowledges.
    expect(await getJob(id('b'))).toMatchObject({
      state: JobState.JOB_STATE_RUNNING,
      cancelRequested: true,
    });
    expect((await getJob(id('c'))).state).toBe(JobState.JOB_STATE_SUCCEEDED);
    const failed = await h.jobs.client.failJob({
      jobId: id('b'),
      leaseToken: leaseOf('b').leaseToken,
      errorMessage: 'stopped',
      retryable: true,
    });
    expect(failed.job!.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect((await getJob(id('root'))).state).toBe(JobState.JOB_STATE_DEAD);
    expect(await claim(type)).toEqual([]);
    const events = await h.eventsOf(id('root'), 3);
    expect(events.map((e) => e.eventType)).toEqual([
      'trellis.job.v1.JobCreated',
      'trellis.job.v1.JobFailed',
      'trellis.job.v1.JobDeadLettered',
    ]);
  });

  it('FAIL_PARENT with a PENDING sibling: the sibling is CANCELLED at once', async () => {
    const type = 'flow.fail';
    const { flow } = await h.jobs.client.createFlow(
      node(type, 'root', [node(type, 'x'), node(type, 'y')]),
    );
    const jobs = byName(flow);
    const [first] = await claim(type, 1);
    const other = first.job!.payload!.name === 'x' ? 'y' : 'x';
    await failForGood(first.job!.id, first.leaseToken, 'no');
    expect((await getJob(jobs.get('root')!.id)).state).toBe(JobState.JOB_STATE_DEAD);
    const sibling = await getJob(jobs.get(other)!.id);
    expect(sibling.state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(await claim(type)).toEqual([]);
  });

  it('IGNORE: a DEAD child counts as done; the parent runs and sees it; a retried ignored child is waited for again', async () => {
    const type = 'flow.ignore';
    const { flow } = await h.jobs.client.createFlow({
      ...node(type, 'root', [node(type, 'ok'), node(type, 'bad'), node(type, 'late')]),
      onChildFailure: ChildFailurePolicy.CHILD_FAILURE_POLICY_IGNORE,
    });
    const jobs = byName(flow);
    const id = (name: string) => jobs.get(name)!.id;
    expect(jobs.get('root')!.onChildFailure).toBe(ChildFailurePolicy.CHILD_FAILURE_POLICY_IGNORE);
    const claimed = await claim(type, 3);
    const leaseOf = (name: string) => claimed.find((c) => c.job!.payload!.name === name)!;
    await failForGood(id('bad'), leaseOf('bad').leaseToken, 'ignored');
    expect(await getJob(id('root'))).toMatchObject({
      state: JobState.JOB_STATE_WAITING_CHILDREN,
      pendingChildren: 2,
    });
    // Revived while the parent waits: the parent waits for it again.
    await h.jobs.client.retryJob({ jobId: id('bad') });
    expect((await getJob(id('root'))).pendingChildren).toBe(3);
    const [again] = await claim(type, 1);
    expect(again.job!.id).toBe(id('bad'));
    await failForGood(id('bad'), again.leaseToken, 'ignored again');
    await h.jobs.client.completeJob({
      jobId: id('ok'),
      leaseToken: leaseOf('ok').leaseToken,
      result: { fine: true },
    });
    expect((await getJob(id('root'))).pendingChildren).toBe(1);
    await failForGood(id('late'), leaseOf('late').leaseToken, 'also ignored');
    expect(await getJob(id('root'))).toMatchObject({
      state: JobState.JOB_STATE_PENDING,
      pendingChildren: 0,
    });
    const [parent] = await claim(type, 1);
    expect(parent.job!.id).toBe(id('root'));
    const children = new Map(parent.children.map((c) => [c.payload!.name, c]));
    expect(children.get('ok')).toMatchObject({
      state: JobState.JOB_STATE_SUCCEEDED,
      result: { fine: true },
    });
    expect(children.get('bad')!.state).toBe(JobState.JOB_STATE_DEAD);
    expect(children.get('late')!.state).toBe(JobState.JOB_STATE_DEAD);
    await h.jobs.client.completeJob({ jobId: id('root'), leaseToken: parent.leaseToken });
  });

  it('cancelling a parent cancels its unfinished children, recursively, in one call', async () => {
    const type = 'flow.cancel';
    const { flow } = await h.jobs.client.createFlow(
      node(type, 'root', [node(type, 'a', [node(type, 'a1'), node(type, 'a2')]), node(type, 'b')]),
    );
    const jobs = byName(flow);
    const id = (name: string) => jobs.get(name)!.id;
    const [running] = await claim(type, 1);
    const runningName = String(running.job!.payload!.name);
    const cancelled = await h.jobs.client.cancelJob({ jobId: id('root'), reason: 'not needed' });
    expect(cancelled.job!.state).toBe(JobState.JOB_STATE_CANCELLED);
    for (const name of ['a', 'a1', 'a2', 'b']) {
      const job = await getJob(id(name));
      if (name === runningName)
        expect(job).toMatchObject({ state: JobState.JOB_STATE_RUNNING, cancelRequested: true });
      else expect([name, job.state]).toEqual([name, JobState.JOB_STATE_CANCELLED]);
    }
    await h.jobs.client.failJob({
      jobId: running.job!.id,
      leaseToken: running.leaseToken,
      errorMessage: 'stopped',
      retryable: true,
    });
    expect((await getJob(running.job!.id)).state).toBe(JobState.JOB_STATE_CANCELLED);
    expect((await getJob(id('root'))).state).toBe(JobState.JOB_STATE_CANCELLED);
    expect(await claim(type)).toEqual([]);
  });

  it('refuses a bad flow at the edge, naming the field, and replays one by the root’s idempotency key', async () => {
    const type = 'flow.valid';
    const fields = async (request: FlowRequest) => {
      const err = await rpcError(h.jobs.client.createFlow(request));
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      return fieldsOf(err);
    };
    expect(await fields(node(type, 'root', [node(type, 'a'), { payload: {} }]))).toEqual([
      'children[1].type',
    ]);
    expect(
      await fields(node(type, 'root', [node(type, 'a', [{ type, priority: 5000, payload: {} }])])),
    ).toEqual(['children[0].children[0].priority']);
    expect(
      await fields(node(type, 'root', [{ ...node(type, 'a'), idempotencyKey: 'child-key' }])),
    ).toEqual(['children[0].idempotency_key']);
    const many = Array.from({ length: 101 }, (_, i) => node(type, `c${i}`));
    expect(await fields(node(type, 'root', many))).toEqual(['children']);
    let deep = node(type, 'leaf');
    for (let level = 0; level < 6; level++) deep = node(type, `l${level}`, [deep]);
    expect(await fields(deep)).toEqual([
      'children[0].children[0].children[0].children[0].children[0].children',
    ]);
    const unknown = await rpcError(
      h.jobs.client.createFlow(node(type, 'root', [node('flow.nope', 'a')])),
    );
    expect(reasonOf(unknown)).toBe('UNKNOWN_JOB_TYPE');
    expect(fieldsOf(unknown)).toEqual(['children[0].type']);
    expect(await h.jobs.client.listJobs({ type })).toMatchObject({ jobs: [] });

    const key = `flow-${Date.now()}`;
    const request = {
      ...node(type, 'root', [node(type, 'a', [node(type, 'a1')])]),
      idempotencyKey: key,
    };
    const first = await h.jobs.client.createFlow(request);
    const replay = await h.jobs.client.createFlow(request);
    expect(replay.created).toBe(false);
    expect([...byName(replay.flow).entries()].map(([n, j]) => [n, j.id])).toEqual(
      [...byName(first.flow).entries()].map(([n, j]) => [n, j.id]),
    );
    const other = await rpcError(
      h.jobs.client.createFlow({ ...request, children: [node(type, 'b')] }),
    );
    expect(other.code).toBe(Status.ABORTED);
    expect(reasonOf(other)).toBe('IDEMPOTENCY_KEY_REUSED');
    await h.jobs.client.cancelJob({ jobId: first.flow!.job!.id });
  });
});
