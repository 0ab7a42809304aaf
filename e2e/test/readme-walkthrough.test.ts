import { jobV1 } from '@trellis/contracts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  documentedPorts,
  markedShellBlocks,
  runShellBlocks,
  startSystem,
  type E2eSystem,
} from './support';

/** The README's walkthrough: the shell blocks between its walkthrough markers, in order. */
const walkthrough = markedShellBlocks('README.md', 'walkthrough');

// One data directory for both runs: the second paste meets everything the first one left.
const dataDir = mkdtempSync(join(tmpdir(), 'trellis-walkthrough-'));
let system: E2eSystem | undefined;
afterAll(() => system?.stop());

async function runWalkthrough(running: E2eSystem): Promise<void> {
  await runShellBlocks(walkthrough, documentedPorts(running));
}

describe('the README walkthrough, executed as written', () => {
  it('every command succeeds against the running system, and the mail it promises arrives', async () => {
    system = await startSystem({ dataDir });
    await runWalkthrough(system);
    const sink = system.devstack.smtp!;
    // Welcome mails for both accounts and a receipt for each side of the transfer.
    await sink.waitForMessages((m) => m.envelope.to.includes('alice@example.com'), {
      count: 2,
      timeoutMs: 30_000,
    });
    await sink.waitForMessages((m) => m.envelope.to.includes('bob@example.com'), {
      count: 2,
      timeoutMs: 30_000,
    });
  });

  it('pasted again after a restart on the same data, it succeeds again', async () => {
    await system!.stop();
    system = undefined;
    system = await startSystem({ dataDir });
    // A demo.echo job left waiting, as one's own experiments leave them: the claim must not take it.
    const jobs = system.client(jobV1.JobServiceDefinition, system.devstack.endpoints.job);
    const { job: leftover } = await jobs.createJob({
      type: 'demo.echo',
      payload: { message: 'left over' },
    });
    await runWalkthrough(system);
    const after = await jobs.getJob({ jobId: leftover!.id });
    expect(after.job?.state).toBe(jobV1.JobState.JOB_STATE_PENDING);
    // The first run's mails were kept with the data; this run's come on top of them.
    await system.devstack.smtp!.waitForMessages(
      (m) => m.envelope.to.includes('alice@example.com'),
      { count: 4, timeoutMs: 30_000 },
    );
  });
});
