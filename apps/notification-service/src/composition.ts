import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { jobV1, notificationV1 } from '@trellis/contracts';
import type { Worker } from '@trellis/job-worker';
import type { Logger } from '@trellis/platform/logging';
import { Inbox } from '@trellis/platform/mongo';
import type { EventConsumer } from '@trellis/platform/messaging';
import { startService, type RunningService } from '@trellis/platform/runtime';
import {
  startBounceSmtpListener,
  type BounceSmtpListener,
} from './adapters/bounce-intake/smtp-listener';
import { startNotificationHttp, type NotificationHttp } from './adapters/http/notification.http';
import { GrpcCampaignJobs } from './adapters/jobs/campaign-jobs.client';
import { startCampaignWorker } from './adapters/jobs/campaign.worker';
import { notificationHandlers } from './adapters/grpc/notification.handlers';
import { startDeliveryConsumers } from './adapters/kafka/delivery.consumers';
import { startDomainEventsConsumer } from './adapters/kafka/domain-events.consumer';
import { MongoBounceRecorder } from './adapters/mongo/bounce-recorder.repository';
import { MongoCampaignRepository } from './adapters/mongo/campaign.repository';
import { MongoContactRepository } from './adapters/mongo/contact.repository';
import { MongoListSuppressionRepository } from './adapters/mongo/list-suppression.repository';
import { MongoInbox, MongoUnitOfWork } from './adapters/mongo/mongo-unit-of-work';
import { MongoNotificationRecipients } from './adapters/mongo/notification-recipients.reader';
import { MongoNotificationRepository } from './adapters/mongo/notification.repository';
import { MongoSuppressionRepository } from './adapters/mongo/suppression.repository';
import { MongoTemplateRepository } from './adapters/mongo/template.repository';
import { NodemailerSender } from './adapters/smtp/nodemailer-sender';
import type { DeliveryDeps, DeliveryResult } from './app/deliver-email.command';
import { DeliveryOutcomes } from './app/delivery-outcomes';
import type { NotificationDeps } from './app/deps';
import type { MailSender } from './app/mail-sender.port';
import { seedTemplates } from './app/seed-templates.command';
import { RecordDeliveryReport } from './app/record-delivery-report.command';
import { SendThrottle } from './app/send-throttle';
import { KeyRing } from './app/support/key-ring';
import { UnsubscribeTokens } from './app/support/unsubscribe-token';
import { VerpAddresses } from './app/support/verp';
import { UnsubscribeByToken } from './app/unsubscribe-by-token.command';
import type { NotificationServiceConfig } from './config';
import { TemplateRenderer } from './domain/template-engine';
import { KeyedTokenBuckets } from './domain/token-bucket';

export const SERVICE_NAME = 'notification-service';

export interface NotificationServiceOptions {
  logger?: Logger;
  /** Replaces the nodemailer transport (tests). */
  mailSender?: MailSender;
}

const burst = (rate: number, configured: number) =>
  configured > 0 ? configured : Math.max(1, rate);

/**
 * The notification-service composition root: MongoDB repositories, the use cases' dependencies,
 * the gRPC handlers, the delivery consumers (email + retry), the event-mail consumer and the
 * `email.campaign` worker.
 */
export async function startNotificationService(
  config: NotificationServiceConfig,
  options: NotificationServiceOptions = {},
): Promise<RunningService> {
  return startService({
    name: SERVICE_NAME,
    config,
    logger: options.logger,
    async register(ctx) {
      const { client, db } = ctx.mongo;
      const templates = new MongoTemplateRepository(client, db);
      const contacts = new MongoContactRepository(db);
      const suppressions = new MongoSuppressionRepository(db);
      const notifications = new MongoNotificationRepository(db);
      const campaigns = new MongoCampaignRepository(db);
      const inbox = new Inbox(client, db, 'inbox_domain_events');
      await Promise.all([
        templates.ensureIndexes(),
        contacts.ensureIndexes(),
        notifications.ensureIndexes(),
        campaigns.ensureIndexes(),
        inbox.ensureIndexes(),
      ]);

      const jobs = ctx.createClient(jobV1.JobServiceDefinition, {
        address: config.JOB_SERVICE_ADDRESS,
        audience: 'job-service',
      });
      const deps: NotificationDeps = {
        uow: new MongoUnitOfWork(client, ctx.outbox, ctx.relay),
        templates,
        contacts,
        suppressions,
        notifications,
        campaigns,
        campaignJobs: new GrpcCampaignJobs(jobs.client),
        renderer: new TemplateRenderer(),
        callerLimits: new KeyedTokenBuckets(
          config.CALLER_RATE_PER_SECOND,
          burst(config.CALLER_RATE_PER_SECOND, config.CALLER_RATE_BURST),
        ),
        settings: {
          maxRecipients: config.SEND_EMAIL_MAX_RECIPIENTS,
          messageIdDomain: config.MESSAGE_ID_DOMAIN,
        },
        clock: () => new Date(),
        newId: randomUUID,
      };
      const seeded = await seedTemplates(deps);
      if (seeded.length > 0) ctx.logger.info({ templates: seeded }, 'seeded event templates');

      ctx.grpc.add(notificationV1.NotificationServiceDefinition, notificationHandlers(deps));

      const mailSender =
        options.mailSender ??
        new NodemailerSender({
          url: config.SMTP_URL,
          from: config.MAIL_FROM,
          maxConnections: config.SMTP_POOL_MAX_CONNECTIONS,
          timeoutMs: config.SMTP_TIMEOUT_MS,
          logger: ctx.logger,
        });
      const deliveryDeps: DeliveryDeps = {
        ...deps,
        mailSender,
        throttle: new SendThrottle({
          globalRatePerSecond: config.SEND_RATE_PER_SECOND,
          globalBurst: burst(config.SEND_RATE_PER_SECOND, config.SEND_RATE_BURST),
          domainRatePerSecond: config.DOMAIN_RATE_PER_SECOND,
          domainBurst: burst(config.DOMAIN_RATE_PER_SECOND, config.DOMAIN_RATE_BURST),
        }),
        outcomes: new DeliveryOutcomes(deps.uow, notifications),
        delivery: {
          retry: {
            maxAttempts: config.EMAIL_MAX_ATTEMPTS,
            baseDelayMs: config.EMAIL_RETRY_BASE_MS,
            maxDelayMs: config.EMAIL_RETRY_MAX_MS,
          },
          claimMs: config.EMAIL_SEND_CLAIM_MS,
        },
      };
      const emails = new Counter({
        name: 'notification_emails_total',
        help: 'Delivery attempts by result (sent, retry, failed, suppressed, skipped)',
        labelNames: ['result'],
        registers: [ctx.metrics],
      });

      const consumers: EventConsumer[] = await startDeliveryConsumers(deliveryDeps, {
        kafka: ctx.kafka,
        producer: ctx.producer,
        logger: ctx.logger,
        metrics: ctx.metrics,
        concurrency: config.DELIVERY_CONCURRENCY,
        retryMaxHoldMs: config.EMAIL_RETRY_MAX_HOLD_MS,
        onResult: (result: DeliveryResult) => emails.inc({ result }),
      });
      if (config.EVENT_MAIL_ENABLED) {
        consumers.push(
          await startDomainEventsConsumer(
            {
              ...deps,
              inbox: new MongoInbox(inbox, ctx.relay),
              opsAlertEmail: config.OPS_ALERT_EMAIL,
            },
            { kafka: ctx.kafka, producer: ctx.producer, logger: ctx.logger, metrics: ctx.metrics },
          ),
        );
      }
      let worker: Worker | undefined;
      if (config.CAMPAIGN_WORKER_ENABLED) {
        worker = startCampaignWorker(
          {
            ...deps,
            campaignRun: {
              batchSize: config.CAMPAIGN_BATCH_SIZE,
              maxInFlight: config.CAMPAIGN_MAX_IN_FLIGHT,
              pollMs: 50,
              drainTimeoutMs: config.CAMPAIGN_DRAIN_TIMEOUT_MS,
            },
          },
          {
            client: jobs.client,
            concurrency: config.CAMPAIGN_WORKER_CONCURRENCY,
            heartbeatIntervalMs: config.CAMPAIGN_HEARTBEAT_MS,
            logger: ctx.logger,
          },
        );
      }
      // #22 deliverability endpoints (not yet wired into the delivery path: see the README).
      const clock = () => new Date();
      const bounceRecorder = new MongoBounceRecorder(db, {
        softBounceLimit: config.SOFT_BOUNCE_LIMIT,
        softBounceWindowMs: config.SOFT_BOUNCE_WINDOW_MS,
      });
      await bounceRecorder.ensureIndexes();
      const recordDeliveryReport = config.BOUNCE_KEYS
        ? new RecordDeliveryReport({
            verp: new VerpAddresses(KeyRing.parse(config.BOUNCE_KEYS), config.BOUNCE_DOMAIN),
            bounces: bounceRecorder,
            notifications: new MongoNotificationRecipients(db),
            clock,
          })
        : undefined;
      let http: NotificationHttp | undefined;
      if (config.UNSUBSCRIBE_KEYS) {
        const keys = KeyRing.parse(config.UNSUBSCRIBE_KEYS, config.UNSUBSCRIBE_KEY_ID || undefined);
        http = await startNotificationHttp({
          host: config.NOTIFICATION_HTTP_HOST,
          port: config.NOTIFICATION_HTTP_PORT,
          unsubscribeByToken: new UnsubscribeByToken({
            tokens: new UnsubscribeTokens(keys, config.UNSUBSCRIBE_TOKEN_TTL_DAYS * 86_400_000),
            listSuppressions: new MongoListSuppressionRepository(db),
            clock,
          }),
          recordDeliveryReport,
          webhookKeys: config.BOUNCE_WEBHOOK_KEYS
            ? KeyRing.parse(config.BOUNCE_WEBHOOK_KEYS)
            : undefined,
          logger: ctx.logger,
        });
        ctx.logger.info({ url: http.url }, 'notification http endpoint listening');
      }
      let bounceSmtp: BounceSmtpListener | undefined;
      if (config.BOUNCE_SMTP_ENABLED && recordDeliveryReport) {
        bounceSmtp = await startBounceSmtpListener({
          host: config.BOUNCE_SMTP_HOST,
          port: config.BOUNCE_SMTP_PORT,
          recordDeliveryReport,
          logger: ctx.logger,
        });
        ctx.logger.info({ url: bounceSmtp.url }, 'bounce intake listening');
      }
      return {
        async stop() {
          await http?.close();
          await bounceSmtp?.close();
          await worker?.stop({ deadlineMs: Math.min(config.SHUTDOWN_GRACE_MS, 10_000) });
          for (const consumer of consumers) await consumer.stop();
          await mailSender.close();
        },
      };
    },
  });
}
