import { join } from 'node:path';
import { createChannel, createClient } from 'nice-grpc';
import { healthV1 } from '@trellis/contracts';
import { startAccountService } from '@trellis/account-service';
import { loadServiceConfig as loadAccountConfig } from '@trellis/account-service/config';
import { startJobService } from '@trellis/job-service';
import { loadServiceConfig as loadJobConfig } from '@trellis/job-service/config';
import { startNotificationService } from '@trellis/notification-service';
import { loadServiceConfig as loadNotificationConfig } from '@trellis/notification-service/config';
import { startKafkaDevBroker, type KafkaDevBroker } from '@trellis/devstack/kafka';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { createDevPki, type DevPki } from '@trellis/devstack/pki';
import { startSmtpSink, type SmtpSink } from '@trellis/devstack/smtp';
import { channelTlsCredentials } from '@trellis/platform/grpc';
import type { Logger } from '@trellis/platform/logging';
import type { RunningService } from '@trellis/platform/runtime';
import { freePort, waitFor } from '@trellis/platform/testing';
import { emptyDataDir, lockDataDir } from './data-dir-lock';

type Env = Record<string, string | undefined>;

export interface DevstackOptions {
  /** Where the embedded servers keep their data (default `.data` in the workspace). */
  dataDir?: string;
  /** Delete the data directory first. */
  fresh?: boolean;
  /** mTLS between everything plus service tokens, with a throwaway CA. */
  secure?: boolean;
  /** `fixed` (default): the documented ports; `ephemeral`: any free ports (tests). */
  ports?: 'fixed' | 'ephemeral';
  /** MONGODB_URI / KAFKA_BROKERS / SMTP_URL here switch to real servers; other service variables pass through. */
  env?: Env;
  /** One logger per service (default: each service's own). */
  loggerFor?: (service: string) => Logger | undefined;
  /** Reports progress lines while starting and stopping. */
  onProgress?: (line: string) => void;
}

export interface DevstackEndpoints {
  account: string;
  job: string;
  notification: string;
  metrics: { account: string; job: string; notification: string };
  mongoUri: string;
  kafkaBrokers: string[];
  smtpUrl: string;
  /** The embedded sink's HTTP mailbox; undefined with a real SMTP_URL. */
  mailboxUrl?: string;
  /** The notification-service's HTTP endpoint (one-click unsubscribe, delivery-event webhook). */
  notificationHttpUrl: string;
}

export interface Devstack {
  endpoints: DevstackEndpoints;
  services: { account: RunningService; job: RunningService; notification: RunningService };
  smtp?: SmtpSink;
  pki?: DevPki;
  /** Stops the services, then the servers, in reverse start order. Safe to call twice. */
  stop(): Promise<void>;
}

const FIXED = {
  mongo: 27017,
  kafka: 9092,
  smtp: 2525,
  mailbox: 8025,
  account: { grpc: 50051, metrics: 9464 },
  job: { grpc: 50052, metrics: 9465 },
  notification: { grpc: 50053, metrics: 9466, http: 8053 },
};

/**
 * Development-only secrets of the notification-service's #22 features, so `npm start` sends
 * unsubscribable marketing mail with VERP return paths and takes signed webhook events (the
 * service README's curl examples sign with the webhook one). Any of the variables (or its `_FILE`)
 * in the environment replaces them.
 */
const DEV_NOTIFICATION_KEYS: Record<string, string> = {
  UNSUBSCRIBE_KEYS: 'dev:devstack-unsubscribe-secret',
  BOUNCE_KEYS: 'dev:devstack-bounce-secret-0000',
  BOUNCE_WEBHOOK_KEYS: 'dev:devstack-webhook-secret-000',
};

const workspaceRoot = join(__dirname, '..', '..', '..');
const IDENTITIES = ['account-service', 'job-service', 'notification-service', 'admin'];

/**
 * Everything `npm start` runs, in one process: embedded MongoDB, Kafka and SMTP sink (unless
 * MONGODB_URI / KAFKA_BROKERS / SMTP_URL point at real ones), then job-, account- and
 * notification-service, each waited on until its health check is SERVING.
 */
export async function startDevstack(options: DevstackOptions = {}): Promise<Devstack> {
  const env = options.env ?? process.env;
  const progress = options.onProgress ?? (() => undefined);
  const fixed = (options.ports ?? 'fixed') === 'fixed';
  const dataDir = options.dataDir ?? join(workspaceRoot, '.data');
  const unlock = lockDataDir(dataDir);
  if (options.fresh) emptyDataDir(dataDir);

  // The lock goes last, once every server has written its data.
  const stops: Array<() => Promise<void>> = [async () => unlock()];
  /** Before the services stop: their consumers need not wait out a long-poll fetch to leave. */
  let releaseFetches = () => undefined as void;
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };

  try {
    let mongo: MongoDevServer | undefined;
    if (!env.MONGODB_URI) {
      mongo = await startMongoDevServer({
        port: fixed ? FIXED.mongo : 0,
        dataDir: join(dataDir, 'mongo'),
      });
      stops.push(() => mongo!.stop());
      progress(`MongoDB (embedded) at ${mongo.uri}`);
    }
    let kafka: KafkaDevBroker | undefined;
    if (!env.KAFKA_BROKERS) {
      kafka = await startKafkaDevBroker({
        port: fixed ? FIXED.kafka : 0,
        dataDir: join(dataDir, 'kafka'),
      });
      stops.push(() => kafka!.stop());
      releaseFetches = () => kafka!.releaseFetches();
      progress(`Kafka (embedded) at ${kafka.brokers.join(',')}`);
    }
    let smtp: SmtpSink | undefined;
    if (!env.SMTP_URL) {
      smtp = await startSmtpSink({
        port: fixed ? FIXED.smtp : 0,
        httpPort: fixed ? FIXED.mailbox : 0,
        dataDir: join(dataDir, 'smtp'),
      });
      stops.push(() => smtp!.stop());
      progress(`SMTP sink at ${smtp.url}, mailbox ${smtp.httpUrl}`);
    }

    const pki = options.secure ? await createDevPki(join(dataDir, 'pki'), IDENTITIES) : undefined;
    const shared: Env = {
      ...env,
      MONGODB_URI: env.MONGODB_URI ?? mongo!.uri,
      KAFKA_BROKERS: env.KAFKA_BROKERS ?? kafka!.brokers.join(','),
      GRPC_HOST: env.GRPC_HOST ?? '127.0.0.1',
    };
    const serviceEnv = (name: string, ports: { grpc: number; metrics: number }): Env => ({
      ...shared,
      GRPC_PORT: String(fixed ? ports.grpc : 0),
      METRICS_PORT: String(fixed ? ports.metrics : 0),
      ...(pki
        ? {
            TLS_CA_FILE: pki.caFile,
            TLS_CERT_FILE: pki.identities[name].certFile,
            TLS_KEY_FILE: pki.identities[name].keyFile,
            SERVICE_TOKEN_JWKS_FILE: pki.jwksFile,
            SERVICE_TOKEN_PRIVATE_KEY_FILE: pki.identities[name].tokenPrivateKeyFile,
          }
        : {}),
    });

    const job = await startJobService(loadJobConfig(serviceEnv('job-service', FIXED.job)), {
      logger: options.loggerFor?.('job-service'),
    });
    stops.push(() => job.stop());
    const account = await startAccountService(
      loadAccountConfig(serviceEnv('account-service', FIXED.account)),
      {
        logger: options.loggerFor?.('account-service'),
      },
    );
    stops.push(() => account.stop());
    const httpPort = fixed ? FIXED.notification.http : await freePort();
    const notificationHttpUrl = `http://127.0.0.1:${httpPort}`;
    const devKeys = Object.fromEntries(
      Object.entries(DEV_NOTIFICATION_KEYS).filter(
        ([name]) => env[name] === undefined && env[`${name}_FILE`] === undefined,
      ),
    );
    const notification = await startNotificationService(
      loadNotificationConfig({
        ...serviceEnv('notification-service', FIXED.notification),
        ...devKeys,
        NOTIFICATION_HTTP_HOST: env.NOTIFICATION_HTTP_HOST ?? '127.0.0.1',
        NOTIFICATION_HTTP_PORT: String(httpPort),
        PUBLIC_BASE_URL: env.PUBLIC_BASE_URL ?? notificationHttpUrl,
        SMTP_URL: env.SMTP_URL ?? smtp!.url,
        JOB_SERVICE_ADDRESS: env.JOB_SERVICE_ADDRESS ?? `localhost:${job.grpcPort}`,
      }),
      { logger: options.loggerFor?.('notification-service') },
    );
    stops.push(() => notification.stop());

    for (const service of [job, account, notification]) {
      await waitUntilServing(service.grpcPort, pki);
      progress(`${service.context.name} SERVING at ${service.grpcAddress}`);
    }

    let stopping: Promise<void> | undefined;
    return {
      endpoints: {
        account: account.grpcAddress,
        job: job.grpcAddress,
        notification: notification.grpcAddress,
        metrics: {
          account: account.metricsUrl,
          job: job.metricsUrl,
          notification: notification.metricsUrl,
        },
        mongoUri: shared.MONGODB_URI!,
        kafkaBrokers: shared.KAFKA_BROKERS!.split(','),
        smtpUrl: env.SMTP_URL ?? smtp!.url,
        mailboxUrl: smtp?.httpUrl,
        notificationHttpUrl,
      },
      services: { account, job, notification },
      smtp,
      pki,
      stop() {
        stopping ??= (async () => {
          progress('stopping');
          releaseFetches();
          await stopAll();
          progress('stopped');
        })();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function waitUntilServing(port: number, pki: DevPki | undefined): Promise<void> {
  const admin = pki?.identities.admin;
  const channel = createChannel(
    `localhost:${port}`,
    pki && admin
      ? channelTlsCredentials({
          caFile: pki.caFile,
          certFile: admin.certFile,
          keyFile: admin.keyFile,
        })
      : undefined,
  );
  const health = createClient(healthV1.HealthDefinition, channel);
  try {
    await waitFor(
      async () =>
        (await health.check({ service: '' })).status ===
        healthV1.HealthCheckResponse_ServingStatus.SERVING,
      { timeoutMs: 20_000, intervalMs: 100, what: `health SERVING on port ${port}` },
    );
  } finally {
    channel.close();
  }
}
export { lockDataDir } from './data-dir-lock';
