import { type Logger } from 'pino';
import { type AppendSignal } from './log/append-signal';
import { type Topic, type TopicRegistry, isValidTopicName } from './log/topic-registry';
import { type GroupCoordinator } from './group/group-coordinator';
import { ErrorCode } from './protocol/error-codes';
import { type TransactionCoordinator } from './txn/transaction-coordinator';

/** Everything the API handlers share: this broker's identity, its topics and its coordinator. */
export interface BrokerContext {
  readonly nodeId: number;
  readonly clusterId: string;
  /** The advertised address (the actual bound host and port). */
  readonly host: string;
  port: number;
  readonly topics: TopicRegistry;
  readonly coordinator: GroupCoordinator;
  readonly transactions: TransactionCoordinator;
  readonly appendSignal: AppendSignal;
  readonly autoCreateTopics: boolean;
  readonly defaultPartitions: number;
  readonly logger: Logger;
  /** Set when the broker stops, so long polls return at once. */
  stopping: boolean;
  /** Set by releaseFetches: the clients are shutting down, so fetches are answered at once. */
  fetchesReleased: boolean;
  nextProducerId(): number;
}

/** Per-request information from the request header. */
export interface RequestContext {
  readonly broker: BrokerContext;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string;
  readonly clientHost: string;
}

/** Find a topic, creating it with the default partition count when auto-creation applies. */
export function findOrAutoCreateTopic(
  broker: BrokerContext,
  name: string,
  allowAutoCreate: boolean,
): Topic | number {
  const existing = broker.topics.get(name);
  if (existing) return existing;
  if (!isValidTopicName(name)) return ErrorCode.INVALID_TOPIC_EXCEPTION;
  if (!broker.autoCreateTopics || !allowAutoCreate) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
  broker.logger.info({ topic: name, partitions: broker.defaultPartitions }, 'auto-created topic');
  return broker.topics.create(name, broker.defaultPartitions);
}
