import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import type { Logger } from '@trellis/platform/logging';

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

/** A kafkajs client whose own logs go through our structured logger. */
export function createKafka(settings: KafkaSettings): Kafka {
  const kafkaLogger = settings.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 100, retries: 8 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...fields } = log;
        kafkaLogger[PINO_LEVEL[level] ?? 'info'](fields, message);
      },
  });
}
