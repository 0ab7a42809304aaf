import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@trellis/platform/config';
import { waitFor } from '@trellis/platform/testing';
import { serviceConfigShape } from '../src';

const workspaceRoot = join(__dirname, '..', '..', '..', '..');

function run(env: Record<string, string>) {
  // tsx as a loader keeps it one process, so the signal reaches the fixture itself.
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'fixtures', 'service-main.ts')],
    {
      cwd: workspaceRoot,
      env: { ...process.env, ...env },
    },
  );
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out, exited };
}

describe('runServiceMain', () => {
  it('a bad variable stops start-up with exactly one line naming it, and exit code 1', async () => {
    const { out, exited } = run({ GRPC_PORT: 'not-a-port', STOP_MARKER_FILE: '/dev/null' });
    expect(await exited).toBe(1);
    expect(
      out.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('npm warn')),
    ).toEqual([
      'Invalid configuration: GRPC_PORT is invalid: expected an integer between 0 and 65535',
    ]);
  });

  it('starts the service and stops it once on SIGTERM, exiting 0', async () => {
    const marker = join(mkdtempSync(join(tmpdir(), 'bootstrap-')), 'stopped');
    const { child, out, exited } = run({
      GRPC_PORT: '7001',
      TRACING_ENABLED: 'false',
      STOP_MARKER_FILE: marker,
    });
    await waitFor(
      () =>
        out.stdout.includes('starting on 7001') &&
        out.stdout.includes('SIGTERM or SIGINT stops it'),
      {
        timeoutMs: 20_000,
        what: 'the ready line, logged once the signal handlers are in place',
      },
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('stopped cleanly\n');
  });
});

describe('runServiceMain shutdown bounds', () => {
  async function startHanging(env: Record<string, string>) {
    const started = run({
      GRPC_PORT: '7001',
      TRACING_ENABLED: 'false',
      STOP_MARKER_FILE: '/dev/null',
      STOP_HANGS: '1',
      ...env,
    });
    await waitFor(() => started.out.stdout.includes('SIGTERM or SIGINT stops it'), {
      timeoutMs: 20_000,
      what: 'the ready line',
    });
    return started;
  }

  it('exits 1 once SHUTDOWN_GRACE_MS + SHUTDOWN_CLOSE_MS pass with the stop unfinished', async () => {
    const { child, out, exited } = await startHanging({
      SHUTDOWN_GRACE_MS: '100',
      SHUTDOWN_CLOSE_MS: '200',
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(1);
    expect(out.stdout).toContain('shutdown did not finish in time; exiting');
    expect(out.stdout).toContain('"deadline_ms":300');
  });

  it('a second signal (a Ctrl-C forwarded by npm as well) does not cut the stop short', async () => {
    const { child, out, exited } = await startHanging({
      SHUTDOWN_GRACE_MS: '300',
      SHUTDOWN_CLOSE_MS: '300',
    });
    child.kill('SIGINT');
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(out.stdout).toContain('shutdown did not finish in time; exiting');
    expect(out.stdout.match(/signal received/g)).toHaveLength(1);
  });
});

describe('serviceConfigShape', () => {
  it('has defaults that make the devstack work with nothing set', () => {
    const config = loadConfig(
      serviceConfigShape({ grpcPort: 50051, metricsPort: 9464, database: 'trellis_x' }),
      {},
    );
    expect(config).toMatchObject({
      GRPC_PORT: 50051,
      MONGODB_URI: 'mongodb://127.0.0.1:27017/?replicaSet=rs0',
      MONGODB_DATABASE: 'trellis_x',
      KAFKA_BROKERS: ['127.0.0.1:9092'],
      NODE_ENV: 'development',
      // A service that ships no policy denies every method once tokens are on.
      AUTHZ_POLICY: {},
    });
  });

  it('parses JSON settings and names a malformed one', () => {
    const shape = serviceConfigShape({ grpcPort: 1, metricsPort: 2, database: 'x' });
    expect(loadConfig(shape, { AUTHZ_POLICY: '{"a/B":["admin"]}' }).AUTHZ_POLICY).toEqual({
      'a/B': ['admin'],
    });
    expect(() => loadConfig(shape, { AUTHZ_POLICY: '{nope' })).toThrow(
      'Invalid configuration: AUTHZ_POLICY is invalid: expected a JSON object of method → subjects',
    );
  });
});
