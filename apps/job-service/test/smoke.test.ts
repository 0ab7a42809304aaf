import { jobV1 } from '@trellis/contracts';
import { createWorker } from '@trellis/job-worker';
import { waitFor } from '@trellis/platform/testing';
import { startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('job_smoke');
});
afterAll(async () => {
  await h?.stop();
});

it('creates, claims and completes through the SDK', async () => {
  const { job } = await h.jobs.client.createJob({ type: 'test.work', payload: { n: 1 } });
  const worker = createWorker({
    client: h.jobs.client,
    types: ['test.work'],
    async handler({ job }) {
      return { doubled: Number(job.payload?.n) * 2 };
    },
  });
  const done = await waitFor(async () => {
    const got = (await h.jobs.client.getJob({ jobId: job!.id })).job!;
    return got.state === jobV1.JobState.JOB_STATE_SUCCEEDED ? got : undefined;
  });
  expect(done.result).toEqual({ doubled: 2 });
  expect(done.attempts).toBe(1);
  await worker.stop();
});
