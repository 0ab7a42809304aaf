/**
 * The devstack MongoDB and Kafka servers for bench/account/run.ts, in their own process (as under
 * `npm start`, and like a real database), so the service under test does not share their event
 * loop. Prints one line `DEVSTACK {"mongoUri":…,"brokers":[…]}` once both listen.
 */
import { startKafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer } from '@trellis/devstack/mongo';

async function main(): Promise<void> {
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
