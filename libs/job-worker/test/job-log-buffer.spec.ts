import { ClientError, Status } from 'nice-grpc-common';
import type { jobV1 } from '@trellis/contracts';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { JobLogBuffer, MAX_PENDING_LOG_LINES } from '../src/job-log-buffer';
import type { JobServiceClient } from '../src/worker-api';

const { logger } = captureLogger('job-log-buffer-test');

/** A client whose AppendJobLogs records each call's messages, or fails with `refuse`. */
function fakeClient() {
  const calls: string[][] = [];
  const state = { refuse: undefined as Status | undefined, gate: Promise.resolve() };
  const client = {
    async appendJobLogs(request: jobV1.AppendJobLogsRequest) {
      await state.gate;
      if (state.refuse !== undefined)
        throw new ClientError('/AppendJobLogs', state.refuse, 'refused');
      calls.push(request.lines.map((l) => l.message));
      return { lineCount: 0n, droppedLines: 0n };
    },
  } as unknown as JobServiceClient;
  return { client, calls, state };
}

const settings = (client: JobServiceClient) => ({
  client,
  jobId: 'j1',
  leaseToken: 'tok',
  flushIntervalMs: 60_000,
  log: logger,
});

describe('JobLogBuffer', () => {
  it('sends lines in calls of at most 100, in order, and the rest on close', async () => {
    const { client, calls } = fakeClient();
    const buffer = new JobLogBuffer(settings(client));
    for (let i = 1; i <= 250; i++) buffer.log(`l${i}`);
    await buffer.close();
    expect(calls.map((c) => c.length)).toEqual([100, 100, 50]);
    expect(calls.flat()).toEqual(Array.from({ length: 250 }, (_, i) => `l${i + 1}`));
    buffer.log('after close');
    await buffer.flush();
    expect(calls.flat()).toHaveLength(250);
  });

  it('flushes periodically while the handler runs', async () => {
    const { client, calls } = fakeClient();
    const buffer = new JobLogBuffer({ ...settings(client), flushIntervalMs: 20 });
    buffer.log('early');
    await waitFor(() => calls.length === 1);
    expect(calls).toEqual([['early']]);
    await buffer.close();
  });

  it('drops everything once the service refuses the lease', async () => {
    const { client, calls, state } = fakeClient();
    const buffer = new JobLogBuffer(settings(client));
    state.refuse = Status.FAILED_PRECONDITION;
    buffer.log('refused');
    await buffer.flush();
    state.refuse = undefined;
    buffer.log('after the lease was lost');
    await buffer.close();
    expect(calls).toEqual([]);
  });

  it('keeps lines after a transient failure and sends them with the next flush', async () => {
    const { client, calls, state } = fakeClient();
    const buffer = new JobLogBuffer(settings(client));
    state.refuse = Status.UNAVAILABLE;
    buffer.log('kept');
    await buffer.flush();
    state.refuse = undefined;
    await buffer.close();
    expect(calls).toEqual([['kept']]);
  });

  it('bounds what waits to be sent, and says how many lines it dropped', async () => {
    const { client, calls, state } = fakeClient();
    let open!: () => void;
    state.gate = new Promise<void>((resolve) => (open = resolve));
    const buffer = new JobLogBuffer(settings(client));
    for (let i = 1; i <= MAX_PENDING_LOG_LINES + 5; i++) buffer.log(`l${i}`);
    const closed = buffer.close();
    open();
    await closed;
    const sent = calls.flat();
    expect(sent[0]).toMatch(/^\[job-worker\] 5 earlier lines were dropped/);
    expect(sent.slice(1)).toEqual(
      Array.from({ length: MAX_PENDING_LOG_LINES }, (_, i) => `l${i + 6}`),
    );
  });

  it('without AppendJobLogs on the client, lines go to the logger', async () => {
    const { logger: captured, lines } = captureLogger('no-append');
    const buffer = new JobLogBuffer({ ...settings({} as JobServiceClient), log: captured });
    buffer.log('to the logger');
    await buffer.close();
    expect(JSON.stringify(lines)).toContain('to the logger');
  });
});
