import { randomUUID } from 'node:crypto';
import type { Db, MongoClient } from 'mongodb';
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
import { notificationHandler } from './adapters/grpc/notification.handler';
import { PrometheusDeliverabilityMetrics } from './adapters/metrics/deliverability.metrics';
import { startDeliveryConsumers } from './adapters/kafka/delivery.consumers';
import { startDomainEventsConsumer } from './adapters/kafka/domain-events.consumer';
import { MongoBounceRecorder } from './adapters/mongo/bounce-recorder.repository';
import { MongoCampaignRepository } from './adapters/mongo/campaign.repository';
import { MongoContactRepository } from './adapters/mongo/contact.repository';
import { MongoListSuppressionRepository } from './adapters/mongo/list-suppression.repository';
import { MongoNotificationRepository } from './adapters/mongo/notification.repository';
import { MongoSharedSendLimiter } from './adapters/mongo/shared-send-limiter';
import { MongoSuppressionRepository } from './adapters/mongo/suppression.repository';
import { MongoTemplateRepository } from './adapters/mongo/template.repository';
import { dkimTransportOption } from './adapters/smtp/dkim-options';
import { NodemailerSender } from './adapters/smtp/nodemailer-sender';
import { CancelCampaign } from './app/cancel-campaign.command';
import { CreateContact } from './app/create-contact.command';
import { CreateTemplate } from './app/create-template.command';
import { DeleteContact } from './app/delete-contact.command';
import { DeliverEmail, type DeliveryResult } from './app/deliver-email.command';
import { GetCampaign } from './app/get-campaign.query';
import { GetContact } from './app/get-contact.query';
import { GetNotification } from './app/get-notification.query';
import { GetTemplate } from './app/get-template.query';
import { HandleDomainEvent } from './app/handle-domain-event.command';
import { ListContacts } from './app/list-contacts.query';
import { ListNotifications } from './app/list-notifications.query';
import { ListSuppressions } from './app/list-suppressions.query';
import { ListTemplates } from './app/list-templates.query';
import type { MailSender } from './app/ports/mail-sender.port';
import type { Runtime } from './app/ports/runtime.port';
import type { SendLimiter } from './app/ports/send-limiter.port';
import { RedriveNotifications } from './app/redrive-notifications.command';
import { RemoveSuppression } from './app/remove-suppression.command';
import { RenderTemplate } from './app/render-template.query';
import { RunCampaign } from './app/run-campaign.command';
import { SeedTemplates } from './app/seed-templates.command';
import { SendEmail } from './app/send-email.command';
import { StartCampaign } from './app/start-campaign.command';
import { SendThrottle } from './app/support/send-throttle';
import { SyncCampaignFromJob } from './app/sync-campaign-from-job.command';
import { Unsubscribe } from './app/unsubscribe.command';
import { UpdateContactPreferences } from './app/update-contact-preferences.command';
import { UpdateTemplate } from './app/update-template.command';
import type { NotificationUseCases } from './app/use-cases';
import { RecordDeliveryReport } from './app/record-delivery-report.command';
import { KeyRing } from './app/support/key-ring';
import { ListUnsubscribeHeaders } from './app/support/list-unsubscribe-headers';
import { UnsubscribeTokens } from './app/support/unsubscribe-token';
import { VerpAddresses } from './app/support/verp';
import { UnsubscribeByToken } from './app/unsubscribe-by-token.command';
import type { NotificationServiceConfig } from './config';
import { TemplateRenderer } from './domain/template-engine';

export const SERVICE_NAME = 'notification-service';

export interface NotificationServiceOptions {
  logger?: Logger;
  /** Replaces the nodemailer transport (tests). */
  mailSender?: MailSender;
}

const burst = (rate: number, configured: number) =>
  configured > 0 ? configured : Math.max(1, rate);

/**
 * The send limits: shared by every replica through MongoDB when SHARED_LIMITER_ENABLED (needed as
 * soon as more than one replica runs, else N replicas send N times the rate), else per process.
 */
function sendLimiter(config: NotificationServiceConfig, client: MongoClient, db: Db): SendLimiter {
  const slowdown = {
    slowdownPercent: config.DOMAIN_SLOWDOWN_PERCENT,
    slowdownMs: config.DOMAIN_SLOWDOWN_MS,
  };
  if (config.SHARED_LIMITER_ENABLED) {
    return new MongoSharedSendLimiter(client, db, {
      globalRatePerSecond: config.SEND_RATE_PER_SECOND,
      domainRatePerSecond: config.DOMAIN_RATE_PER_SECOND,
      callerRatePerSecond: config.CALLER_RATE_PER_SECOND,
      ...slowdown,
    });
  }
  return new SendThrottle({
    globalRatePerSecond: config.SEND_RATE_PER_SECOND,
    globalBurst: burst(config.SEND_RATE_PER_SECOND, config.SEND_RATE_BURST),
    domainRatePerSecond: config.DOMAIN_RATE_PER_SECOND,
    domainBurst: burst(config.DOMAIN_RATE_PER_SECOND, config.DOMAIN_RATE_BURST),
    callerRatePerSecond: config.CALLER_RATE_PER_SECOND,
    callerBurst: burst(config.CALLER_RATE_PER_SECOND, config.CALLER_RATE_BURST),
    ...slowdown,
  });
}

/**
 * The notification-service composition root: MongoDB repositories and adapters, the use cases
 * (the gRPC handler gets only `NotificationUseCases`), the delivery consumers (email + retry), the event-mail consumer and the
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
      const inbox = new Inbox(client, db, 'inbox_domain_events');
      const templates = new MongoTemplateRepository(client, db);
      const contacts = new MongoContactRepository(db);
      const suppressions = new MongoSuppressionRepository(db);
      const notifications = new MongoNotificationRepository(
        client,
        db,
        ctx.outbox,
        ctx.relay,
        inbox,
      );
      const campaigns = new MongoCampaignRepository(client, db);
      const listSuppressions = new MongoListSuppressionRepository(db);
      const bounceRecorder = new MongoBounceRecorder(db, {
        softBounceLimit: config.SOFT_BOUNCE_LIMIT,
        softBounceWindowMs: config.SOFT_BOUNCE_WINDOW_MS,
      });
      await Promise.all([
        listSuppressions.ensureIndexes(),
        bounceRecorder.ensureIndexes(),
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
      const campaignJobs = new GrpcCampaignJobs(jobs.client);
      const runtime: Runtime = { now: () => new Date(), newId: randomUUID };
      const renderer = new TemplateRenderer();
      const limiter = sendLimiter(config, client, db);
      const deliverability = new PrometheusDeliverabilityMetrics(ctx.metrics);
      const messageIdDomain = config.MESSAGE_ID_DOMAIN;
      // #22: signed unsubscribe tokens (List-Unsubscribe, the HTTP endpoint) and VERP return paths.
      const clock = () => new Date();
      const unsubscribeTokens = config.UNSUBSCRIBE_KEYS
        ? new UnsubscribeTokens(
            KeyRing.parse(config.UNSUBSCRIBE_KEYS, config.UNSUBSCRIBE_KEY_ID || undefined),
            config.UNSUBSCRIBE_TOKEN_TTL_DAYS * 86_400_000,
          )
        : undefined;
      if (!unsubscribeTokens) {
        ctx.logger.warn('UNSUBSCRIBE_KEYS unset: marketing mail goes out without List-Unsubscribe');
      }
      const verp = config.BOUNCE_KEYS
        ? new VerpAddresses(KeyRing.parse(config.BOUNCE_KEYS), config.BOUNCE_DOMAIN)
        : undefined;

      const seeded = await new SeedTemplates({ templates, runtime }).execute();
      if (seeded.length > 0) ctx.logger.info({ templates: seeded }, 'seeded event templates');

      const useCases: NotificationUseCases = {
        createTemplate: new CreateTemplate({ templates, runtime }),
        getTemplate: new GetTemplate({ templates }),
        listTemplates: new ListTemplates({ templates }),
        updateTemplate: new UpdateTemplate({ templates, runtime }),
        renderTemplate: new RenderTemplate({ templates, contacts, renderer }),
        createContact: new CreateContact({ contacts, runtime }),
        getContact: new GetContact({ contacts, listSuppressions }),
        listContacts: new ListContacts({ contacts, listSuppressions }),
        deleteContact: new DeleteContact({ contacts }),
        updateContactPreferences: new UpdateContactPreferences({
          contacts,
          listSuppressions,
          metrics: deliverability,
          runtime,
        }),
        unsubscribe: new Unsubscribe({ suppressions, runtime, metrics: deliverability }),
        listSuppressions: new ListSuppressions({ suppressions }),
        removeSuppression: new RemoveSuppression({ suppressions }),
        sendEmail: new SendEmail({
          notifications,
          templates,
          contacts,
          suppressions,
          listSuppressions,
          renderer,
          callerLimit: limiter,
          runtime,
          settings: { maxRecipients: config.SEND_EMAIL_MAX_RECIPIENTS, messageIdDomain },
        }),
        getNotification: new GetNotification({ notifications }),
        listNotifications: new ListNotifications({ notifications }),
        redriveNotifications: new RedriveNotifications({ notifications, runtime }),
        startCampaign: new StartCampaign({
          campaigns,
          templates,
          contacts,
          campaignJobs,
          callerLimit: limiter,
          runtime,
        }),
        getCampaign: new GetCampaign({ campaigns, notifications }),
        cancelCampaign: new CancelCampaign({ campaigns, notifications, campaignJobs, runtime }),
      };
      ctx.grpc.add(notificationV1.NotificationServiceDefinition, notificationHandler(useCases));

      const mailSender =
        options.mailSender ??
        new NodemailerSender({
          url: config.SMTP_URL,
          from: config.MAIL_FROM,
          maxConnections: config.SMTP_POOL_MAX_CONNECTIONS,
          timeoutMs: config.SMTP_TIMEOUT_MS,
          dkim: dkimTransportOption({
            privateKey: config.DKIM_PRIVATE_KEY,
            selector: config.DKIM_SELECTOR,
            domain: config.DKIM_DOMAIN,
          }),
          logger: ctx.logger,
        });
      const deliverEmail = new DeliverEmail({
        notifications,
        metrics: deliverability,
        suppressions,
        templates,
        renderer,
        mailSender,
        throttle: limiter,
        runtime,
        settings: {
          retry: {
            maxAttempts: config.EMAIL_MAX_ATTEMPTS,
            baseDelayMs: config.EMAIL_RETRY_BASE_MS,
            maxDelayMs: config.EMAIL_RETRY_MAX_MS,
          },
          claimMs: config.EMAIL_SEND_CLAIM_MS,
        },
        listSuppressions,
        bounces: bounceRecorder,
        unsubscribeHeaders: unsubscribeTokens
          ? new ListUnsubscribeHeaders(unsubscribeTokens, {
              publicUrl: config.PUBLIC_BASE_URL,
              mailto: config.UNSUBSCRIBE_MAILTO,
            })
          : undefined,
        verp,
      });
      const emails = new Counter({
        name: 'notification_emails_total',
        help: 'Delivery attempts by result (sent, retry, failed, suppressed, skipped)',
        labelNames: ['result'],
        registers: [ctx.metrics],
      });

      const consumers: EventConsumer[] = await startDeliveryConsumers(deliverEmail, {
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
              handleDomainEvent: new HandleDomainEvent({
                notifications,
                templates,
                contacts,
                suppressions,
                runtime,
                settings: { messageIdDomain },
              }),
              syncCampaignFromJob: new SyncCampaignFromJob({ campaigns, runtime }),
            },
            {
              kafka: ctx.kafka,
              producer: ctx.producer,
              logger: ctx.logger,
              metrics: ctx.metrics,
              opsAlertEmail: config.OPS_ALERT_EMAIL,
            },
          ),
        );
      }
      let worker: Worker | undefined;
      if (config.CAMPAIGN_WORKER_ENABLED) {
        worker = startCampaignWorker(
          new RunCampaign({
            campaigns,
            contacts,
            notifications,
            suppressions,
            listSuppressions,
            runtime,
            settings: {
              batchSize: config.CAMPAIGN_BATCH_SIZE,
              maxInFlight: config.CAMPAIGN_MAX_IN_FLIGHT,
              pollMs: 50,
              drainTimeoutMs: config.CAMPAIGN_DRAIN_TIMEOUT_MS,
              messageIdDomain,
            },
          }),
          {
            client: jobs.client,
            concurrency: config.CAMPAIGN_WORKER_CONCURRENCY,
            heartbeatIntervalMs: config.CAMPAIGN_HEARTBEAT_MS,
            logger: ctx.logger,
          },
        );
      }
      // #22 intake: the one-click unsubscribe / webhook endpoint and the bounce SMTP listener.
      const recordDeliveryReport = verp
        ? new RecordDeliveryReport({
            verp,
            bounces: bounceRecorder,
            metrics: deliverability,
            notifications,
            clock,
          })
        : undefined;
      let http: NotificationHttp | undefined;
      if (unsubscribeTokens) {
        http = await startNotificationHttp({
          host: config.NOTIFICATION_HTTP_HOST,
          port: config.NOTIFICATION_HTTP_PORT,
          unsubscribeByToken: new UnsubscribeByToken({
            tokens: unsubscribeTokens,
            listSuppressions,
            notifications,
            metrics: deliverability,
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
