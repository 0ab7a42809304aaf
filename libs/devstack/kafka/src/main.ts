/**
 * Standalone entry: `npx nx run devstack-kafka:serve` (or `tsx libs/devstack/kafka/src/main.ts`).
 * Settings: KAFKA_DEVSTACK_PORT (default 9092), KAFKA_DEVSTACK_HOST (default 127.0.0.1),
 * KAFKA_DEVSTACK_DATA_DIR (default: memory only).
 */
import pino from 'pino';
import { startKafkaDevBroker } from './broker';

async function main(): Promise<void> {
  const logger = pino({ name: 'devstack-kafka', level: process.env['LOG_LEVEL'] ?? 'info' });
  const portText = process.env['KAFKA_DEVSTACK_PORT'] ?? '9092';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`KAFKA_DEVSTACK_PORT must be a port number, got "${portText}"`);
  }
  const broker = await startKafkaDevBroker({
    port,
    host: process.env['KAFKA_DEVSTACK_HOST'] ?? '127.0.0.1',
    dataDir: process.env['KAFKA_DEVSTACK_DATA_DIR'] || undefined,
    logger,
  });
  logger.info(
    { brokers: broker.brokers.join(',') },
    `Kafka devstack broker at ${broker.brokers[0]}`,
  );
  const shutdown = (): void => {
    void broker.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
