// The job-service in a child process for the benches (bench/job/run.ts, bench/job/schedules.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { jobV1 } from '@trellis/contracts';
import { createGrpcClient } from '@trellis/platform/grpc';
import { BUNDLED_ENV, bundled } from '../support/bundle';

const ROOT = join(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * The job-service in a process of its own, as deployed: workers are remote by definition, and
 * sharing their event loop would cap the service at what one core minus theirs allows.
 */
export async function startJobServiceProcess(
  infra: { mongoUri: string; brokers: string },
  database: string,
  nodeArgs: string[],
  /** On top of the defaults, e.g. other JOB_TYPES or SCHEDULE_TICK_INTERVAL_MS. */
  env: Record<string, string> = {},
): Promise<{ address: string; metricsUrl: string; process: ChildProcess }> {
  const [grpcPort, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--enable-source-maps', bundled('apps/job-service/src/main.ts', 'job-service')],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        GRPC_HOST: '127.0.0.1',
        GRPC_PORT: String(grpcPort),
        METRICS_PORT: String(metricsPort),
        MONGODB_URI: infra.mongoUri,
        MONGODB_DATABASE: database,
        KAFKA_BROKERS: infra.brokers,
        TRACING_ENABLED: 'false',
        ...BUNDLED_ENV,
        LOG_LEVEL: 'warn',
        JOB_TYPES: JSON.stringify([{ name: 'bench.noop', lease_seconds: 60 }]),
        // The throughput runs check that every job SUCCEEDED, so nothing may be removed there
        // (the default keeps 10,000 per type); the retention run sets its own.
        JOB_RETENTION: '{"succeeded":{"max_count":1000000000}}',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`job-service exited with ${code}`))),
  );
  const address = `127.0.0.1:${grpcPort}`;
  const probe = createGrpcClient(jobV1.JobServiceDefinition, { address });
  try {
    for (let tries = 0; ; tries++) {
      const ready = await Promise.race([
        probe.client.listJobTypes({}).then(
          () => true,
          () => false,
        ),
        exited,
      ]);
      if (ready) break;
      if (tries > 300) throw new Error('job-service did not become ready');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    probe.close();
  }
  exited.catch(() => undefined);
  return { address, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, process: child };
}
