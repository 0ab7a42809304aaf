import { Kafka, logLevel, type ISocketFactory, type KafkaConfig, type LogEntry } from 'kafkajs';
import type { Logger } from '@trellis/platform/logging';
import { FetchAborter } from './kafkajs-fetch-abort';
import { fixKafkajsRequestQueue } from './kafkajs-request-queue-fix';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
}

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * kafkajs warnings about choices made here on purpose, logged at debug instead of on every start:
 * the idempotent producer's retries are bounded because the outbox relay re-sends a failed batch
 * from MongoDB itself, after looking up which of it reached Kafka, so a send that gives up loses
 * nothing and doubles nothing.
 */
const EXPECTED_WARNINGS = new Set([
  'Limiting retries for the idempotent producer may invalidate EoS guarantees',
]);

/** A kafkajs client whose own logs go through our structured logger. */
export function createKafka(settings: KafkaSettings): Kafka {
  fixKafkajsRequestQueue();
  const kafkaLogger = settings.logger.child({ component: 'kafkajs' });
  const config: KafkaConfig = {
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 100, retries: 8 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...fields } = log;
        const pinoLevel = EXPECTED_WARNINGS.has(message) ? 'debug' : (PINO_LEVEL[level] ?? 'info');
        kafkaLogger[pinoLevel](fields, message);
      },
  };
  const kafka = new Kafka(config);
  configs.set(kafka, config);
  return kafka;
}

const configs = new WeakMap<Kafka, KafkaConfig>();

/**
 * A client like `kafka` (made by createKafka) whose consumers' parked Fetches the returned
 * aborter can cut short (see FetchAborter); undefined for a client made elsewhere.
 */
export function abortableKafka(kafka: Kafka): { kafka: Kafka; aborter: FetchAborter } | undefined {
  const config = configs.get(kafka);
  if (!config) return undefined;
  // kafkajs's own factory (plain or TLS socket, keep-alive), which createKafka's clients use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const defaultSocketFactory = require('kafkajs/src/network/socketFactory') as () => ISocketFactory;
  const aborter = new FetchAborter(defaultSocketFactory());
  return { kafka: new Kafka({ ...config, socketFactory: aborter.socketFactory }), aborter };
}
