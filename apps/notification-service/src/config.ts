import { z } from 'zod';
import { ConfigError, envFlag, envInt, loadConfig } from '@trellis/platform/config';
import { serviceConfigShape } from '@trellis/platform/bootstrap';
import { KeyRing } from './app/support/key-ring';

const NOTIFICATION = 'trellis.notification.v1.NotificationService';
/** The operator identity (the devstack mints its tokens: `npm run -s token -- notification-service`). */
const ADMIN = 'admin';
/** Trellis services that send mail through this one. */
const SENDERS = ['account-service', 'job-service', ADMIN];

/**
 * Who may call what with service tokens on: services send mail (SendEmail, the templates they send
 * with, their notifications, and unsubscribing a recipient); the operator identity administers
 * everything else — templates, the contact directory, suppressions, campaigns. Every method is
 * named, so a method added later is denied until it is listed here.
 */
/** `kid:secret[,kid:secret…]` as KeyRing.parse reads it, or empty (the feature off). */
const keyRingSpec = z
  .string()
  .default('')
  .superRefine((spec, ctx) => {
    if (spec.trim() === '') return;
    try {
      KeyRing.parse(spec);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const DEFAULT_AUTHZ_POLICY: Record<string, string[]> = {
  [`${NOTIFICATION}/SendEmail`]: SENDERS,
  [`${NOTIFICATION}/GetNotification`]: SENDERS,
  [`${NOTIFICATION}/GetTemplate`]: SENDERS,
  [`${NOTIFICATION}/ListTemplates`]: SENDERS,
  [`${NOTIFICATION}/RenderTemplate`]: SENDERS,
  [`${NOTIFICATION}/Unsubscribe`]: SENDERS,
  [`${NOTIFICATION}/ListNotifications`]: [ADMIN],
  [`${NOTIFICATION}/RedriveNotifications`]: [ADMIN],
  [`${NOTIFICATION}/CreateTemplate`]: [ADMIN],
  [`${NOTIFICATION}/UpdateTemplate`]: [ADMIN],
  [`${NOTIFICATION}/CreateContact`]: [ADMIN],
  [`${NOTIFICATION}/GetContact`]: [ADMIN],
  [`${NOTIFICATION}/ListContacts`]: [ADMIN],
  [`${NOTIFICATION}/DeleteContact`]: [ADMIN],
  [`${NOTIFICATION}/UpdateContactPreferences`]: [ADMIN],
  [`${NOTIFICATION}/ListSuppressions`]: [ADMIN],
  [`${NOTIFICATION}/RemoveSuppression`]: [ADMIN],
  [`${NOTIFICATION}/StartCampaign`]: [ADMIN],
  [`${NOTIFICATION}/GetCampaign`]: [ADMIN],
  [`${NOTIFICATION}/CancelCampaign`]: [ADMIN],
};

/**
 * The notification-service's environment. Rates are per second; 0 turns a limit off; a burst of 0
 * means "equal to the rate".
 */
export const configShape = {
  ...serviceConfigShape({
    grpcPort: 50053,
    metricsPort: 9466,
    database: 'trellis_notification',
    authorizationPolicy: DEFAULT_AUTHZ_POLICY,
  }),
  /** smtp://[user:pass@]host:port (STARTTLS when offered) or smtps://… (implicit TLS). */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\//, { message: 'expected an smtp:// or smtps:// URL' })
    .default('smtp://127.0.0.1:2525'),
  SMTP_POOL_MAX_CONNECTIONS: envInt(5, 1, 100),
  SMTP_TIMEOUT_MS: envInt(30_000, 100, 600_000),
  MAIL_FROM: z.string().min(3).default('Trellis <noreply@trellis.dev>'),
  /** Message-ID: `<notification-id@MESSAGE_ID_DOMAIN>`. */
  MESSAGE_ID_DOMAIN: z.string().min(1).default('trellis'),
  SEND_EMAIL_MAX_RECIPIENTS: envInt(1000, 1, 10_000),
  /** Delivery: attempts per notification and the exponential backoff between them. */
  EMAIL_MAX_ATTEMPTS: envInt(5, 1, 50),
  EMAIL_RETRY_BASE_MS: envInt(1_000, 1, 3_600_000),
  EMAIL_RETRY_MAX_MS: envInt(300_000, 1, 86_400_000),
  /** The retry consumer waits for a message's due time at most this long before re-queueing it. */
  EMAIL_RETRY_MAX_HOLD_MS: envInt(5_000, 0, 20_000),
  /** A SENDING claim older than this may be taken over by a redelivery (crash recovery). */
  EMAIL_SEND_CLAIM_MS: envInt(120_000, 1_000, 3_600_000),
  /** Delivery messages handled at once per fetched batch. */
  DELIVERY_CONCURRENCY: envInt(256, 1, 5000),
  /** Global and per-recipient-domain send rates (token buckets). */
  SEND_RATE_PER_SECOND: envInt(200, 0, 1_000_000),
  SEND_RATE_BURST: envInt(0, 0, 1_000_000),
  DOMAIN_RATE_PER_SECOND: envInt(50, 0, 1_000_000),
  DOMAIN_RATE_BURST: envInt(0, 0, 1_000_000),
  /** Per-caller requests per second on SendEmail and StartCampaign. */
  CALLER_RATE_PER_SECOND: envInt(20, 0, 1_000_000),
  CALLER_RATE_BURST: envInt(40, 0, 1_000_000),
  /** Event-driven mail (account and job events) on or off. */
  EVENT_MAIL_ENABLED: envFlag(true),
  OPS_ALERT_EMAIL: z.string().email().default('ops@trellis.dev'),
  /** Campaigns: the job-service and this service's `email.campaign` worker. */
  JOB_SERVICE_ADDRESS: z.string().min(1).default('127.0.0.1:50052'),
  CAMPAIGN_WORKER_ENABLED: envFlag(true),
  CAMPAIGN_WORKER_CONCURRENCY: envInt(2, 1, 100),
  CAMPAIGN_BATCH_SIZE: envInt(100, 1, 1000),
  CAMPAIGN_MAX_IN_FLIGHT: envInt(500, 1, 100_000),
  CAMPAIGN_DRAIN_TIMEOUT_MS: envInt(600_000, 0, 86_400_000),
  CAMPAIGN_HEARTBEAT_MS: envInt(1_000, 100, 60_000),
  /**
   * The HTTP endpoint (one-click unsubscribe, delivery-event webhook); started when
   * UNSUBSCRIBE_KEYS is set. PUBLIC_BASE_URL is how recipients reach it (List-Unsubscribe URLs).
   */
  NOTIFICATION_HTTP_HOST: z.string().default('0.0.0.0'),
  NOTIFICATION_HTTP_PORT: envInt(8053, 0, 65_535),
  PUBLIC_BASE_URL: z.string().url().default('http://127.0.0.1:8053'),
  /** Unsubscribe tokens: `kid:secret[,kid:secret…]` (secrets ≥ 16 chars; use UNSUBSCRIBE_KEYS_FILE), the signing kid (default the first). */
  UNSUBSCRIBE_KEYS: keyRingSpec,
  UNSUBSCRIBE_KEY_ID: z.string().default(''),
  UNSUBSCRIBE_TOKEN_TTL_DAYS: envInt(90, 1, 3650),
  UNSUBSCRIBE_MAILTO: z.string().email().default('unsubscribe@trellis.dev'),
  /** Bounces: VERP return paths bounce+<id>.<mac>@BOUNCE_DOMAIN, signed with BOUNCE_KEYS. */
  BOUNCE_DOMAIN: z.string().min(1).default('bounce.trellis.dev'),
  BOUNCE_KEYS: keyRingSpec,
  /** The bounce intake's SMTP listener (the bounce domain's MX); 0 = a free port (tests). */
  BOUNCE_SMTP_ENABLED: envFlag(false),
  BOUNCE_SMTP_HOST: z.string().default('0.0.0.0'),
  BOUNCE_SMTP_PORT: envInt(2526, 0, 65_535),
  /** Providers' delivery-event webhook signing secrets (`kid:secret,…`); empty = the webhook is off. */
  BOUNCE_WEBHOOK_KEYS: keyRingSpec,
  /** Soft bounces of one address within the window that suppress it; 0 = never. */
  SOFT_BOUNCE_LIMIT: envInt(3, 0, 100),
  SOFT_BOUNCE_WINDOW_MS: envInt(7 * 86_400_000, 1_000, 365 * 86_400_000),
  /** DKIM signing: a PEM private key (DKIM_PRIVATE_KEY_FILE), selector and domain; off without a key. */
  DKIM_PRIVATE_KEY: z.string().default(''),
  DKIM_SELECTOR: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/)
    .default('trellis'),
  DKIM_DOMAIN: z.string().default(''),
  /**
   * The send limits shared by all replicas (MongoDB): off = per process (SendThrottle). After a
   * 421/451 "slow down", a domain gets DOMAIN_SLOWDOWN_PERCENT of its rate for DOMAIN_SLOWDOWN_MS.
   */
  SHARED_LIMITER_ENABLED: envFlag(false),
  DOMAIN_SLOWDOWN_PERCENT: envInt(25, 1, 100),
  DOMAIN_SLOWDOWN_MS: envInt(300_000, 1_000, 86_400_000),
};

export type NotificationServiceConfig = z.infer<z.ZodObject<typeof configShape>>;

export function loadServiceConfig(
  env: Record<string, string | undefined> = process.env,
): NotificationServiceConfig {
  const config = loadConfig(configShape, env);
  if (
    config.UNSUBSCRIBE_KEY_ID &&
    !config.UNSUBSCRIBE_KEYS.split(',').some((k) =>
      k.trim().startsWith(`${config.UNSUBSCRIBE_KEY_ID}:`),
    )
  ) {
    throw new ConfigError('UNSUBSCRIBE_KEY_ID', 'must name a key id listed in UNSUBSCRIBE_KEYS');
  }
  if ((config.BOUNCE_SMTP_ENABLED || config.BOUNCE_WEBHOOK_KEYS) && !config.BOUNCE_KEYS) {
    throw new ConfigError(
      'BOUNCE_KEYS',
      'must be set for the bounce intake (BOUNCE_SMTP_ENABLED, BOUNCE_WEBHOOK_KEYS)',
    );
  }
  if (config.BOUNCE_WEBHOOK_KEYS && !config.UNSUBSCRIBE_KEYS) {
    throw new ConfigError(
      'UNSUBSCRIBE_KEYS',
      'must be set for the delivery-event webhook (it is served by the HTTP endpoint)',
    );
  }
  if (config.DKIM_PRIVATE_KEY && !config.DKIM_DOMAIN) {
    throw new ConfigError('DKIM_DOMAIN', 'must be set when DKIM_PRIVATE_KEY is');
  }
  return config;
}
