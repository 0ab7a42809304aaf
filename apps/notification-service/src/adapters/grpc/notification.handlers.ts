import { notificationV1 } from '@trellis/contracts';
import type { NotificationDeps } from '../../app/deps';
import { cancelCampaign } from '../../app/cancel-campaign.command';
import { createContact } from '../../app/create-contact.command';
import { createTemplate } from '../../app/create-template.command';
import { deleteContact } from '../../app/delete-contact.command';
import { getCampaign } from '../../app/get-campaign.query';
import { getContact } from '../../app/get-contact.query';
import { getNotification } from '../../app/get-notification.query';
import { getTemplate } from '../../app/get-template.query';
import { listContacts } from '../../app/list-contacts.query';
import { listNotifications } from '../../app/list-notifications.query';
import { listSuppressions } from '../../app/list-suppressions.query';
import { listTemplates } from '../../app/list-templates.query';
import { removeSuppression } from '../../app/remove-suppression.command';
import { renderTemplatePreview } from '../../app/render-template.query';
import { sendEmail } from '../../app/send-email.command';
import { startCampaign } from '../../app/start-campaign.command';
import { unsubscribe } from '../../app/unsubscribe.command';
import { updateTemplate } from '../../app/update-template.command';
import { ValidationError } from '@trellis/platform/errors';
// Per-caller limits key on who the credentials say called (service token, client certificate),
// else the peer's address without port: never a header or a port the caller picks.
import { callerIdentityOf } from '@trellis/platform/grpc';
import { activeTraceId } from '@trellis/platform/telemetry';
import {
  fromNotificationState,
  fromPostalAddress,
  fromSuppressionReason,
  toCampaign,
  toContact,
  toNotification,
  toSuppression,
  toTemplate,
} from './mappers';

const N = notificationV1;

/** gRPC ⇄ use cases: translation only. */
export function notificationHandlers(
  deps: NotificationDeps,
): notificationV1.NotificationServiceImplementation {
  return {
    async createTemplate(req) {
      const template = await createTemplate(deps, {
        templateId: req.templateId,
        displayName: req.displayName,
        description: req.description,
        subject: req.subject,
        textBody: req.textBody,
        htmlBody: req.htmlBody,
      });
      return N.CreateTemplateResponse.fromPartial({ template: toTemplate(template) });
    },
    async getTemplate(req) {
      return { template: toTemplate(await getTemplate(deps, req.templateId, req.version)) };
    },
    async listTemplates(req) {
      const page = await listTemplates(deps, req);
      return { templates: page.items.map(toTemplate), nextPageToken: page.nextPageToken };
    },
    async updateTemplate(req) {
      const template = await updateTemplate(deps, {
        templateId: req.templateId,
        expectedVersion: req.expectedVersion,
        displayName: req.displayName,
        description: req.description,
        subject: req.subject,
        textBody: req.textBody,
        htmlBody: req.htmlBody,
      });
      return { template: toTemplate(template) };
    },
    async renderTemplate(req) {
      const rendered = await renderTemplatePreview(deps, {
        templateId: req.templateId,
        version: req.version,
        variables: req.variables ?? {},
        recipient: req.recipient,
      });
      return {
        subject: rendered.subject,
        textBody: rendered.textBody,
        htmlBody: rendered.htmlBody,
        templateVersion: rendered.templateVersion,
      };
    },
    async createContact(req) {
      const contact = await createContact(deps, {
        email: req.email,
        name: req.name,
        address: fromPostalAddress(req.address),
        attributes: req.attributes,
      });
      return { contact: toContact(contact) };
    },
    async getContact(req) {
      return { contact: toContact(await getContact(deps, req.contactId)) };
    },
    async listContacts(req) {
      const page = await listContacts(deps, req);
      return { contacts: page.items.map(toContact), nextPageToken: page.nextPageToken };
    },
    async deleteContact(req) {
      await deleteContact(deps, req.contactId);
      return {};
    },
    async unsubscribe(req) {
      const suppression = await unsubscribe(deps, {
        email: req.email,
        reason: fromSuppressionReason(req.reason),
        comment: req.comment,
      });
      return { suppression: toSuppression(suppression) };
    },
    async listSuppressions(req) {
      const page = await listSuppressions(deps, req);
      return { suppressions: page.items.map(toSuppression), nextPageToken: page.nextPageToken };
    },
    async removeSuppression(req) {
      await removeSuppression(deps, req.email);
      return {};
    },
    async sendEmail(req, context) {
      const notifications = await sendEmail(deps, {
        to: req.to,
        cc: req.cc,
        template: req.template
          ? {
              templateId: req.template.templateId,
              templateVersion: req.template.templateVersion,
              variables: req.template.variables ?? {},
            }
          : undefined,
        inline: req.inline,
        idempotencyKey: req.idempotencyKey,
        caller: callerIdentityOf(context),
        traceId: activeTraceId(),
      });
      return { notifications: notifications.map(toNotification) };
    },
    async getNotification(req) {
      return { notification: toNotification(await getNotification(deps, req.notificationId)) };
    },
    async listNotifications(req) {
      const state = fromNotificationState(req.state);
      if (req.state !== N.NotificationState.NOTIFICATION_STATE_UNSPECIFIED && !state) {
        throw ValidationError.field('state', 'unknown state');
      }
      const page = await listNotifications(deps, {
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        filter: {
          state,
          recipient: req.recipient || undefined,
          campaignId: req.campaignId || undefined,
          createdAfter: req.createdAfter,
          createdBefore: req.createdBefore,
        },
      });
      return { notifications: page.items.map(toNotification), nextPageToken: page.nextPageToken };
    },
    async startCampaign(req, context) {
      const campaign = await startCampaign(deps, {
        templateId: req.templateId,
        recipients: req.contactIds
          ? { kind: 'contacts', contactIds: req.contactIds.ids }
          : req.emailDomain !== undefined
            ? { kind: 'domain', domain: req.emailDomain }
            : undefined,
        cc: req.cc,
        variables: req.variables ?? {},
        idempotencyKey: req.idempotencyKey,
        caller: callerIdentityOf(context),
        traceId: activeTraceId(),
      });
      return { campaign: toCampaign(campaign) };
    },
    async getCampaign(req) {
      const { campaign, progress } = await getCampaign(deps, req.campaignId);
      return { campaign: toCampaign(campaign, progress) };
    },
    async cancelCampaign(req) {
      const { campaign, progress } = await cancelCampaign(deps, {
        campaignId: req.campaignId,
        reason: req.reason,
      });
      return { campaign: toCampaign(campaign, progress) };
    },
  };
}
