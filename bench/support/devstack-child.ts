/**
 * The devstack servers for the benches (bench/account, bench/notification) in their own process (as under `npm start`):
 * `BENCH_CHILD=infra` starts MongoDB + Kafka, `BENCH_CHILD=sink` the SMTP sink (HTTP mailbox on).
 * Prints one line `DEVSTACK {…}` once listening.
 */
import { startKafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer } from '@trellis/devstack/mongo';
import { startSmtpSink } from '@trellis/devstack/smtp';

async function main(): Promise<void> {
  if (process.env.BENCH_CHILD === 'sink') {
    const sink = await startSmtpSink({ port: 0, httpPort: 0 });
    process.stdout.write(
      `DEVSTACK ${JSON.stringify({ smtpUrl: sink.url, httpUrl: sink.httpUrl })}\n`,
    );
    const stop = () => void sink.stop().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    return;
  }
  const mongo = await startMongoDevServer({ port: 0 });
  const broker = await startKafkaDevBroker({ port: 0 });
  process.stdout.write(
    `DEVSTACK ${JSON.stringify({ mongoUri: mongo.uri, brokers: broker.brokers })}\n`,
  );
  const stop = () => void Promise.all([broker.stop(), mongo.stop()]).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
