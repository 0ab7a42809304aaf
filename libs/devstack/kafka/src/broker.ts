import { TransactionCoordinator } from './txn/transaction-coordinator';
import { createServer, type Server, type Socket } from 'node:net';
import pino, { type Logger } from 'pino';
import { type BrokerContext } from './broker-context';
import { GroupCoordinator } from './group/group-coordinator';
import { OffsetStore } from './group/offset-store';
import { AppendSignal } from './log/append-signal';
import { DEFAULT_LOG_CONFIG, type LogConfig } from './log/log-config';
import { TopicRegistry } from './log/topic-registry';
import { Connection } from './network/connection';
import { DataDir } from './persistence/data-dir';

export interface KafkaDevBrokerOptions {
  /** TCP port; 0 (the default) picks a free one. */
  readonly port?: number;
  /** Interface to bind; default 127.0.0.1. */
  readonly host?: string;
  /**
   * Host put in Metadata and FindCoordinator answers; default `host`, or 127.0.0.1 when `host` is
   * a wildcard (0.0.0.0, ::) that clients cannot connect to.
   */
  readonly advertisedHost?: string;
  /** Persist logs and committed offsets here; memory only when unset. */
  readonly dataDir?: string;
  /** Partitions of auto-created topics and of CreateTopics with num_partitions -1; default 3. */
  readonly defaultPartitions?: number;
  /** Create unknown topics on Metadata (when the client allows it) and Produce; default true. */
  readonly autoCreateTopics?: boolean;
  /** group.initial.rebalance.delay.ms; default 50 (Kafka's is 3000, too slow for tests). */
  readonly groupInitialRebalanceDelayMs?: number;
  /** Default retention.ms of new topics; default 7 days, -1 = forever. */
  readonly retentionMs?: number;
  /** Default retention.bytes per partition of new topics; default -1 (unlimited). */
  readonly retentionBytes?: number;
  /** Default segment.bytes of new topics; default 8 MiB. */
  readonly segmentBytes?: number;
  /** How often retention runs; default 5000 ms (log.retention.check.interval.ms). */
  readonly retentionCheckIntervalMs?: number;
  /** Default: a pino logger at level "warn" named devstack-kafka. */
  readonly logger?: Logger;
}

export interface KafkaDevBroker {
  /** Bootstrap list for clients, e.g. ["127.0.0.1:40123"]. */
  readonly brokers: string[];
  readonly host: string;
  readonly port: number;
  /** Run retention now (it also runs every retentionCheckIntervalMs). */
  enforceRetention(): void;
  /**
   * Answers the parked fetches now and every later fetch at once: the clients are about to shut
   * down, and a consumer leaving waits out its in-flight fetch (kafkajs), up to its maxWaitTime.
   */
  releaseFetches(): void;
  /** Close every connection and the listener, flush and close files. */
  stop(): Promise<void>;
}

/** Start an embedded Kafka-protocol broker (one node, id 0) for development and tests. */
export async function startKafkaDevBroker(
  options: KafkaDevBrokerOptions = {},
): Promise<KafkaDevBroker> {
  const logger = options.logger ?? pino({ name: 'devstack-kafka', level: 'warn' });
  const bindHost = options.host ?? '127.0.0.1';
  const host =
    options.advertisedHost ??
    (bindHost === '0.0.0.0' || bindHost === '::' ? '127.0.0.1' : bindHost);
  const defaultConfig: LogConfig = {
    retentionMs: options.retentionMs ?? DEFAULT_LOG_CONFIG.retentionMs,
    retentionBytes: options.retentionBytes ?? DEFAULT_LOG_CONFIG.retentionBytes,
    segmentBytes: options.segmentBytes ?? DEFAULT_LOG_CONFIG.segmentBytes,
  };
  const dataDir = options.dataDir ? new DataDir(options.dataDir, (msg) => logger.warn(msg)) : null;
  const appendSignal = new AppendSignal();
  const topics = new TopicRegistry(defaultConfig, dataDir, (t, p) => appendSignal.notify(t, p));
  const coordinator = new GroupCoordinator(new OffsetStore(dataDir), {
    initialRebalanceDelayMs: options.groupInitialRebalanceDelayMs ?? 50,
    minSessionTimeoutMs: 1,
    maxSessionTimeoutMs: 30 * 60 * 1000,
    log: (msg, fields) => logger.debug(fields ?? {}, msg),
  });
  // Distinct across restarts of a data dir: above every id already in the logs.
  let producerIds = Math.max(Date.now() % 1_000_000_000, topics.maxProducerId());
  const nextProducerId = (): number => ++producerIds;
  const transactions = new TransactionCoordinator(topics, coordinator, nextProducerId);
  const ctx: BrokerContext = {
    nodeId: 0,
    clusterId: 'trellis-devstack',
    host,
    port: 0,
    topics,
    coordinator,
    transactions,
    appendSignal,
    autoCreateTopics: options.autoCreateTopics ?? true,
    defaultPartitions: options.defaultPartitions ?? 3,
    logger,
    stopping: false,
    fetchesReleased: false,
    nextProducerId,
  };

  const connections = new Set<Connection>();
  const server: Server = createServer((socket: Socket) => {
    const conn = new Connection(socket, ctx);
    connections.add(conn);
    socket.on('close', () => connections.delete(conn));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, bindHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  ctx.port = typeof address === 'object' && address ? address.port : (options.port ?? 0);

  const enforceRetention = (): void => topics.enforceRetention(Date.now());
  const retentionTimer = setInterval(enforceRetention, options.retentionCheckIntervalMs ?? 5000);
  retentionTimer.unref();

  logger.info(
    { bind: bindHost, advertised: `${host}:${ctx.port}`, dataDir: options.dataDir ?? null },
    'kafka devstack listening',
  );
  let stopped: Promise<void> | null = null;
  return {
    brokers: [`${host}:${ctx.port}`],
    host,
    port: ctx.port,
    enforceRetention,
    releaseFetches: () => {
      ctx.fetchesReleased = true;
      appendSignal.wakeAll();
    },
    stop: () => {
      stopped ??= (async () => {
        ctx.stopping = true;
        clearInterval(retentionTimer);
        appendSignal.wakeAll();
        coordinator.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of connections) c.destroy();
        await closed;
        topics.close();
        dataDir?.close();
      })();
      return stopped;
    },
  };
}
