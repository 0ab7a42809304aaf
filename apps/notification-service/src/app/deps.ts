import type { KeyedTokenBuckets } from '../domain/token-bucket';
import type { TemplateRenderer } from '../domain/template-engine';
import type { CampaignJobs } from './job-queue.port';
import type { CampaignRepository } from './campaign.repository.port';
import type { ContactRepository } from './contact.repository.port';
import type { NotificationRepository } from './notification.repository.port';
import type { SuppressionRepository } from './suppression.repository.port';
import type { TemplateRepository } from './template.repository.port';
import type { UnitOfWork } from './unit-of-work.port';

export interface NotificationSettings {
  /** SendEmail: most `to` addresses per request. */
  maxRecipients: number;
  /** Right-hand side of Message-ID headers: `<notification-id@domain>`. */
  messageIdDomain: string;
}

/** What the use cases depend on: ports, the renderer and the clock. */
export interface NotificationDeps {
  uow: UnitOfWork;
  templates: TemplateRepository;
  contacts: ContactRepository;
  suppressions: SuppressionRepository;
  notifications: NotificationRepository;
  campaigns: CampaignRepository;
  campaignJobs: CampaignJobs;
  renderer: TemplateRenderer;
  /** Per-caller limit on SendEmail and StartCampaign. */
  callerLimits: KeyedTokenBuckets;
  settings: NotificationSettings;
  clock(): Date;
  newId(): string;
}
