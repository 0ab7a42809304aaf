import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { ChannelCredentials, ServerCredentials } from '@grpc/grpc-js';
import type { CompatServiceDefinition } from 'nice-grpc';
import { loadDescriptorSet, requestLimits } from '@trellis/contracts';
import { ConfigError } from '@trellis/platform/config';
import {
  channelTlsCredentials,
  createGrpcClient,
  createGrpcServer,
  insecureChannelCredentials,
  serverTlsCredentials,
  ServiceTokenSigner,
  ServiceTokenVerifier,
  type GrpcClientHandle,
  type GrpcServer,
} from '@trellis/platform/grpc';
import { createLogger, type Logger } from '@trellis/platform/logging';
import { createKafka, OutboxRelay, relayOwnerId } from '@trellis/platform/messaging';
import {
  connectMongo,
  Lease,
  Outbox,
  SessionOwners,
  type MongoConnection,
} from '@trellis/platform/mongo';
import {
  createMetricsRegistry,
  startMetricsServer,
  type MetricsServer,
} from '@trellis/platform/telemetry';
import type { ServiceConfig } from '@trellis/platform/bootstrap';
import { Readiness } from './readiness';

/** What a service's composition root gets to build its adapters and use cases from. */
export interface ServiceContext {
  name: string;
  config: ServiceConfig;
  logger: Logger;
  metrics: Registry;
  mongo: MongoConnection;
  kafka: Kafka;
  /** Idempotent producer shared by the relay and anything else that publishes directly. */
  producer: Producer;
  outbox: Outbox;
  relay: OutboxRelay;
  grpc: GrpcServer;
  /**
   * A client for another Trellis service with this service's transport security: TLS/mTLS when
   * configured, and a service token for `audience` (the callee's service name) when this service
   * has a signing key.
   */
  createClient<Definition extends CompatServiceDefinition>(
    definition: Definition,
    target: { address: string; audience: string },
  ): GrpcClientHandle<Definition>;
}

/** What `register` returns: background parts (consumers, workers) to stop before the relay. */
export interface ServiceParts {
  stop?(): Promise<void>;
}

export interface RunningService {
  context: ServiceContext;
  grpcPort: number;
  grpcAddress: string;
  metricsUrl: string;
  /** The shutdown order of docs/architecture.md; safe to call more than once. */
  stop(): Promise<void>;
}

export interface StartServiceOptions {
  name: string;
  config: ServiceConfig;
  /** What reflection serves; default: the contracts' `buf build` descriptor set. */
  descriptorSet?: Uint8Array;
  /** Tests pass a logger that captures lines. */
  logger?: Logger;
  /** How often readiness re-checks MongoDB and Kafka while they are unreachable (default 5 s). */
  readinessIntervalMs?: number;
  /**
   * How often it re-checks them while they answer and no probe asks (default 30 s); a readiness
   * probe, and a failed MongoDB heartbeat, check at once (readiness.ts).
   */
  readinessIdleIntervalMs?: number;
  /** Registers gRPC services, consumers, workers; runs before the server listens. */
  register(context: ServiceContext): Promise<ServiceParts | void>;
}

/**
 * The one composition shell all services share: logger, metrics endpoint, MongoDB, Kafka producer,
 * outbox + leased relay, gRPC server with health and reflection. Health turns SERVING once MongoDB
 * and Kafka answer, and back to NOT_SERVING when they stop answering (checked on each readiness
 * probe, see readiness.ts). `stop()` runs
 * health NOT_SERVING → stop accepting and drain calls → stop consumers/workers → stop the relay →
 * close Kafka and MongoDB → close the metrics endpoint.
 */
export async function startService(options: StartServiceOptions): Promise<RunningService> {
  const { config, name } = options;
  const logger =
    options.logger ??
    createLogger({ service: name, level: config.LOG_LEVEL, format: config.LOG_FORMAT });
  const metrics = createMetricsRegistry(name);
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((err) => logger.warn({ err }, 'cleanup failed'));
    cleanups.length = 0;
  };

  try {
    const metricsServer: MetricsServer = await startMetricsServer(metrics, config.METRICS_PORT);
    cleanups.push(() => metricsServer.close());

    const mongo = await connectMongo({
      uri: config.MONGODB_URI,
      database: config.MONGODB_DATABASE,
      appName: name,
      logger,
    });
    cleanups.push(() => mongo.close());
    // A killed predecessor's open transactions hold their documents until killed (session-owners.ts).
    const sessionOwners = new SessionOwners(mongo.client, mongo.db, {
      service: name,
      logger: logger.child({ component: 'session-owners' }),
    });
    await sessionOwners.start();
    cleanups.push(() => sessionOwners.stop());

    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: name, logger });
    const producer = kafka.producer({
      // Named explicitly (it is kafkajs 2's default, Java-client compatible) to skip its warning.
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: true,
    });
    await producer.connect();
    cleanups.push(() => producer.disconnect());

    const outbox = new Outbox(mongo.db);
    await outbox.ensureIndexes();
    const relay = new OutboxRelay({
      outbox,
      producer,
      kafka,
      lease: new Lease(mongo.db, 'outbox-relay', relayOwnerId(name), 10_000),
      logger: logger.child({ component: 'outbox-relay' }),
      metrics,
    });

    const security = transportSecurity(config, logger);
    // Before the server, whose health Check asks it for a current answer (the server listens only
    // once the first check below has run, so `admin` exists by then).
    const readiness = new Readiness({
      check: async () => {
        const [mongoUp, kafkaUp] = await Promise.all([
          mongo.ping(),
          admin.describeCluster().then(
            () => true,
            (err: unknown) => {
              logger.warn({ err }, 'kafka not reachable');
              return false;
            },
          ),
        ]);
        return mongoUp && kafkaUp;
      },
      report: (ready) => grpc.setServing(ready),
      retryMs: options.readinessIntervalMs,
      idleMs: options.readinessIdleIntervalMs,
    });
    const grpc = createGrpcServer({
      logger,
      beforeReadinessCheck: () => readiness.probe(),
      metrics,
      descriptorSet: options.descriptorSet ?? loadDescriptorSet(),
      requestLimits,
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
      maxReceiveMessageBytes: config.GRPC_MAX_RECEIVE_BYTES,
      maxConcurrentStreams: config.GRPC_MAX_CONCURRENT_STREAMS,
      slowQueryLogMs: config.LOG_SLOW_QUERY_MS,
      credentials: security.server,
      auth: config.SERVICE_TOKEN_JWKS
        ? {
            verifier: new ServiceTokenVerifier(name, config.SERVICE_TOKEN_JWKS),
            policy: config.AUTHZ_POLICY,
            requireCertificateMatch: security.mutualTls,
          }
        : undefined,
    });
    const signer = config.SERVICE_TOKEN_PRIVATE_KEY
      ? new ServiceTokenSigner(name, config.SERVICE_TOKEN_PRIVATE_KEY)
      : undefined;
    const clients: Array<{ close(): void }> = [];
    cleanups.push(async () => clients.forEach((c) => c.close()));
    const context: ServiceContext = {
      name,
      config,
      logger,
      metrics,
      mongo,
      kafka,
      producer,
      outbox,
      relay,
      grpc,
      createClient(definition, target) {
        const handle = createGrpcClient(definition, {
          address: target.address,
          credentials: security.channel,
          serviceToken: signer ? { signer, audience: target.audience } : undefined,
        });
        clients.push(handle);
        return handle;
      },
    };
    const parts = (await options.register(context)) ?? {};
    relay.start();
    cleanups.push(() => relay.stop());
    // Consumers and workers stop before the relay, so what they write still gets published.
    if (parts.stop) cleanups.push(() => parts.stop!());

    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // The driver's own monitor pings MongoDB every 10 s: a failed one is checked at once.
    const suspect = () => readiness.suspect();
    mongo.client.on('serverHeartbeatFailed', suspect);
    cleanups.push(async () => {
      mongo.client.off('serverHeartbeatFailed', suspect);
      readiness.stop();
    });
    await readiness.refresh();

    const grpcPort = await grpc.listen(`${config.GRPC_HOST}:${config.GRPC_PORT}`);
    // Last in, first out: health and the server go first.
    cleanups.push(() => grpc.shutdown());
    const shownHost = config.GRPC_HOST === '0.0.0.0' ? '127.0.0.1' : config.GRPC_HOST;
    logger.info({ grpc_port: grpcPort, metrics_url: metricsServer.url }, `${name} listening`);

    let stopping: Promise<void> | undefined;
    return {
      context,
      grpcPort,
      grpcAddress: `${shownHost}:${grpcPort}`,
      metricsUrl: metricsServer.url,
      stop() {
        stopping ??= (async () => {
          logger.info('shutting down');
          await closeAll();
          logger.info('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Server and client credentials from TLS_* settings. Plaintext is refused under
 * NODE_ENV=production unless ALLOW_INSECURE=true says otherwise (and that is logged).
 */
function transportSecurity(
  config: ServiceConfig,
  logger: Logger,
): { server?: ServerCredentials; channel: ChannelCredentials; mutualTls: boolean } {
  if (!config.TLS_CERT_FILE || !config.TLS_KEY_FILE) {
    if (config.NODE_ENV === 'production') {
      if (!config.ALLOW_INSECURE) {
        throw new ConfigError(
          'TLS_CERT_FILE',
          'is required when NODE_ENV=production (set TLS_CERT_FILE, TLS_KEY_FILE and TLS_CA_FILE, or ALLOW_INSECURE=true to accept plaintext)',
        );
      }
      logger.warn(
        { event: 'security' },
        'ALLOW_INSECURE=true: serving plaintext gRPC in production',
      );
    }
    return { channel: insecureChannelCredentials(), mutualTls: false };
  }
  if (!config.TLS_CA_FILE)
    throw new ConfigError('TLS_CA_FILE', 'is required when TLS_CERT_FILE is set');
  const files = {
    caFile: config.TLS_CA_FILE,
    certFile: config.TLS_CERT_FILE,
    keyFile: config.TLS_KEY_FILE,
  };
  return {
    server: serverTlsCredentials(files, config.TLS_REQUIRE_CLIENT_CERT),
    channel: channelTlsCredentials(files),
    mutualTls: config.TLS_REQUIRE_CLIENT_CERT,
  };
}
