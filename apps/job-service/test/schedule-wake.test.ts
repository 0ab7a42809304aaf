import { waitFor } from '@trellis/platform/testing';
import type { JobDocument } from '../src/adapters/mongo/job.repository';
import { startHarness, type Harness } from './harness';

// The real clock, and a ticker whose longest sleep (10 min) is far beyond every liveness bound
// here: only the wake-up by this replica's own change can make these schedules fire in time.
let h: Harness;

beforeAll(async () => {
  h = await startHarness('job_schedule_wake_test', { SCHEDULE_TICK_MAX_IDLE_MS: '600000' });
});
afterAll(async () => {
  await h?.stop();
});

const template = { type: 'test.batch', payload: { from: 'schedule' }, priority: 0, maxAttempts: 0 };
const hour = { seconds: 3600n, nanos: 0 };

function jobsOf(scheduleId: string): Promise<JobDocument[]> {
  return h.service.context.mongo.db
    .collection<JobDocument>('jobs')
    .find({ idempotency_key: { $regex: `^schedule:${scheduleId}:` } })
    .toArray();
}

describe('the schedule ticker sleeps until the earliest due schedule', () => {
  it('a schedule created in this replica fires on time while the ticker sleeps', async () => {
    const startAt = new Date(Date.now() + 1_000);
    await h.jobs.client.createSchedule({
      scheduleId: 'wake-created',
      definition: { template, interval: hour, startAt },
    });
    const [job] = await waitFor(async () => {
      const jobs = await jobsOf('wake-created');
      return jobs.length > 0 ? jobs : undefined;
    });
    expect(job.run_at).toEqual(startAt);
  });

  it('a schedule resumed in this replica fires while the ticker sleeps', async () => {
    await h.jobs.client.createSchedule({
      scheduleId: 'wake-resumed',
      definition: { template, interval: hour, startAt: new Date(Date.now() + 1_000) },
      paused: true,
    });
    await h.jobs.client.resumeSchedule({ scheduleId: 'wake-resumed' });
    await waitFor(async () => (await jobsOf('wake-resumed')).length > 0);
  });
});
