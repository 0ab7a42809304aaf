import type { CancelCampaign } from './cancel-campaign.command';
import type { CreateContact } from './create-contact.command';
import type { CreateTemplate } from './create-template.command';
import type { DeleteContact } from './delete-contact.command';
import type { GetCampaign } from './get-campaign.query';
import type { GetContact } from './get-contact.query';
import type { GetNotification } from './get-notification.query';
import type { GetTemplate } from './get-template.query';
import type { ListContacts } from './list-contacts.query';
import type { ListNotifications } from './list-notifications.query';
import type { ListSuppressions } from './list-suppressions.query';
import type { ListTemplates } from './list-templates.query';
import type { RedriveNotifications } from './redrive-notifications.command';
import type { RemoveSuppression } from './remove-suppression.command';
import type { RenderTemplate } from './render-template.query';
import type { SendEmail } from './send-email.command';
import type { StartCampaign } from './start-campaign.command';
import type { Unsubscribe } from './unsubscribe.command';
import type { UpdateContactPreferences } from './update-contact-preferences.command';
import type { UpdateTemplate } from './update-template.command';

/** What the gRPC handler gets: one use case per RPC, nothing else. */
export interface NotificationUseCases {
  createTemplate: CreateTemplate;
  getTemplate: GetTemplate;
  listTemplates: ListTemplates;
  updateTemplate: UpdateTemplate;
  renderTemplate: RenderTemplate;
  createContact: CreateContact;
  getContact: GetContact;
  listContacts: ListContacts;
  deleteContact: DeleteContact;
  updateContactPreferences: UpdateContactPreferences;
  unsubscribe: Unsubscribe;
  listSuppressions: ListSuppressions;
  removeSuppression: RemoveSuppression;
  sendEmail: SendEmail;
  getNotification: GetNotification;
  listNotifications: ListNotifications;
  redriveNotifications: RedriveNotifications;
  startCampaign: StartCampaign;
  getCampaign: GetCampaign;
  cancelCampaign: CancelCampaign;
}
