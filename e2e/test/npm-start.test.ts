import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { healthV1, jobV1 } from '@trellis/contracts';
import { waitFor } from '@trellis/platform/testing';

const workspaceRoot = join(__dirname, '..', '..');

function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

/** Processes whose environment holds `marker` (Linux /proc), i.e. everything `npm start` spawned. */
function processesWithEnv(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(marker)) found.push(Number(entry));
    } catch {
      // gone already, or not ours to read
    }
  }
  return found;
}

describe('npm start, as a person runs it', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('prints the table once every service is SERVING, and no warning it did not cause; Ctrl-C while a worker long-polls turns health NOT_SERVING, ends the poll, stops within seconds, frees the ports and leaves no process behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'trellis-start-'));
    // Its own process group, so SIGINT reaches every process in it, as Ctrl-C in a terminal does.
    child = spawn('npm', ['start', '--silent'], {
      cwd: workspaceRoot,
      env: { ...process.env, DEVSTACK_PORTS: 'ephemeral', DEVSTACK_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child!.once('exit', (code, signal) => resolve({ code, signal })),
    );

    await waitFor(() => stdout.includes('Trellis is ready'), {
      timeoutMs: 60_000,
      what: `the ready table (stderr: ${stderr.slice(-500)})`,
    });
    const grpcPorts = [
      ...stdout.matchAll(/-service\s+127\.0\.0\.1:(\d+)\s+http:\/\/127\.0\.0\.1:(\d+)\/metrics/g),
    ];
    expect(grpcPorts).toHaveLength(3);
    expect(stdout).toMatch(/MongoDB\s+mongodb:\/\//);
    expect(stdout).toMatch(/Kafka\s+127\.0\.0\.1:\d+/);
    expect(stdout).toMatch(/Mailbox\s+http:\/\/127\.0\.0\.1:\d+/);
    const ports = grpcPorts.flatMap((m) => [Number(m[1]), Number(m[2])]);

    const channel = createChannel(`127.0.0.1:${grpcPorts[0][1]}`);
    const health = createClient(healthV1.HealthDefinition, channel);
    const watch = health.watch({ service: '' })[Symbol.asyncIterator]();
    expect((await watch.next()).value).toMatchObject({
      status: healthV1.HealthCheckResponse_ServingStatus.SERVING,
    });

    // A worker long-polling for work that never comes: shutdown must not wait out its 25 s.
    const jobChannel = createChannel(`127.0.0.1:${grpcPorts[1][1]}`);
    const jobs = createClient(jobV1.JobServiceDefinition, jobChannel);
    const longPoll = jobs.claimJobs({
      workerId: 'npm-start-test',
      types: ['demo.echo'],
      maxJobs: 1,
      wait: { seconds: 25n, nanos: 0 },
    });
    // Calls on one connection are dispatched in order: once this answers, the poll is waiting.
    await jobs.listJobTypes({});
    expect(processesWithEnv(dataDir).length).toBeGreaterThan(1);

    // Nothing a user did not cause: no warnings from the clients or servers on a clean start.
    expect(`${stdout}${stderr}`).not.toMatch(/"level":"(warn|error)"|KafkaJS v2|EoS/);

    process.kill(-child.pid!, 'SIGINT');
    const stopDeadline = new Promise<'still running'>((resolve) =>
      setTimeout(() => resolve('still running'), 5_000).unref(),
    );
    const next = await watch.next();
    if (!next.done)
      expect(next.value).toMatchObject({
        status: healthV1.HealthCheckResponse_ServingStatus.NOT_SERVING,
      });
    channel.close();

    // The long-poll returns empty, as at its deadline, instead of holding the drain.
    expect(await longPoll).toMatchObject({ jobs: [] });
    jobChannel.close();

    // npm itself reports the Ctrl-C it received (as in a terminal); the devstack stops cleanly,
    // before this test's own 5 s deadline.
    const outcome = await Promise.race([exited, stopDeadline]);
    expect(outcome).not.toBe('still running');
    const { code, signal } = await exited;
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    expect(stderr).toContain('[devstack] stopped');
    for (const port of ports) expect(await portIsClosed(port)).toBe(true);
    // npm → scripts/start.js → tsx → the devstack: none may outlive Ctrl-C.
    await waitFor(() => processesWithEnv(dataDir).length === 0, {
      timeoutMs: 5_000,
      what: 'every started process to exit',
    });
  });
});
