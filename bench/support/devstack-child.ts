/**
 * The devstack servers for the benches (bench/account, bench/notification) in their own process (as under `npm start`):
 * `BENCH_CHILD=infra` starts MongoDB + Kafka, `BENCH_CHILD=sink` the SMTP sink (HTTP mailbox on),
 * `BENCH_CHILD=system` everything `npm start` runs (bench/hostile-input), logging to a counter
 * whose figures it prints as `LOGS {…}` when stopped.
 * `BENCH_SINK_DKIM_RECORDS` (sink) maps DKIM key names to TXT records (JSON), so signed mail verifies
 * without DNS. `BENCH_DATA_DIR`, `BENCH_MONGO_PORT` and `BENCH_KAFKA_PORT` (infra) set its data directory and ports.
 * Prints one line `DEVSTACK {…}` once listening.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { startDevstack } from '@trellis/devstack';
import { startKafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer } from '@trellis/devstack/mongo';
import { startSmtpSink } from '@trellis/devstack/smtp';
import { createLogger } from '@trellis/platform/logging';

async function system(): Promise<void> {
  let bytes = 0;
  let longestLine = 0;
  let lines = 0;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        lines++;
        longestLine = Math.max(longestLine, line.length);
      }
      done();
    },
  });
  const devstack = await startDevstack({
    ports: 'ephemeral',
    dataDir: mkdtempSync(join(tmpdir(), 'trellis-bench-')),
    loggerFor: (service) => createLogger({ service, destination, level: 'info' }),
  });
  process.stdout.write(`DEVSTACK ${JSON.stringify(devstack.endpoints)}\n`);
  const stop = () =>
    void devstack.stop().then(() => {
      process.stdout.write(`LOGS ${JSON.stringify({ bytes, lines, longestLine })}\n`);
      process.exit(0);
    });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

async function main(): Promise<void> {
  if (process.env.BENCH_CHILD === 'system') return system();
  if (process.env.BENCH_CHILD === 'sink') {
    // DKIM keys the sink verifies against without DNS (BENCH_SINK_DKIM_RECORDS: name → TXT JSON).
    const sink = await startSmtpSink({
      port: 0,
      httpPort: 0,
      dkimDnsRecords: JSON.parse(process.env.BENCH_SINK_DKIM_RECORDS ?? '{}') as Record<
        string,
        string
      >,
    });
    process.stdout.write(
      `DEVSTACK ${JSON.stringify({ smtpUrl: sink.url, httpUrl: sink.httpUrl })}\n`,
    );
    const stop = () => void sink.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return;
  }
  // bench/crash/devstack-kill.ts restarts a killed child on the same ports and data directory.
  const dataDir = process.env.BENCH_DATA_DIR;
  const mongo = await startMongoDevServer({
    port: Number(process.env.BENCH_MONGO_PORT ?? 0),
    dataDir: dataDir && join(dataDir, 'mongo'),
  });
  const broker = await startKafkaDevBroker({
    port: Number(process.env.BENCH_KAFKA_PORT ?? 0),
    dataDir: dataDir && join(dataDir, 'kafka'),
  });
  process.stdout.write(
    `DEVSTACK ${JSON.stringify({ mongoUri: mongo.uri, brokers: broker.brokers })}\n`,
  );
  const stop = () => void Promise.all([broker.stop(), mongo.stop()]).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
