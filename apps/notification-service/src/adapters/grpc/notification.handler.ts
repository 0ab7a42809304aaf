import { notificationV1 } from '@trellis/contracts';
import type { NotificationUseCases } from '../../app/use-cases';
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
} from './notification.mapper';

const N = notificationV1;

/** gRPC ⇄ use cases: translation only. */
export function notificationHandler(
  useCases: NotificationUseCases,
): notificationV1.NotificationServiceImplementation {
  return {
    async createTemplate(req) {
      const template = await useCases.createTemplate.execute({
        templateId: req.templateId,
        displayName: req.displayName,
        description: req.description,
        subject: req.subject,
        textBody: req.textBody,
        htmlBody: req.htmlBody,
        marketing: req.marketing,
        category: req.category,
      });
      return N.CreateTemplateResponse.fromPartial({ template: toTemplate(template) });
    },
    async getTemplate(req) {
      return {
        template: toTemplate(
          await useCases.getTemplate.execute({ templateId: req.templateId, version: req.version }),
        ),
      };
    },
    async listTemplates(req) {
      const page = await useCases.listTemplates.execute(req);
      return { templates: page.items.map(toTemplate), nextPageToken: page.nextPageToken };
    },
    async updateTemplate(req) {
      const template = await useCases.updateTemplate.execute({
        templateId: req.templateId,
        expectedVersion: req.expectedVersion,
        displayName: req.displayName,
        description: req.description,
        subject: req.subject,
        textBody: req.textBody,
        htmlBody: req.htmlBody,
        marketing: req.marketing,
        category: req.category,
      });
      return { template: toTemplate(template) };
    },
    async renderTemplate(req) {
      const rendered = await useCases.renderTemplate.execute({
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
      const contact = await useCases.createContact.execute({
        email: req.email,
        name: req.name,
        address: fromPostalAddress(req.address),
        attributes: req.attributes,
      });
      return { contact: toContact(contact) };
    },
    async getContact(req) {
      return {
        contact: toContact(await useCases.getContact.execute({ contactId: req.contactId })),
      };
    },
    async listContacts(req) {
      const page = await useCases.listContacts.execute(req);
      return { contacts: page.items.map((c) => toContact(c)), nextPageToken: page.nextPageToken };
    },
    async deleteContact(req) {
      await useCases.deleteContact.execute({ contactId: req.contactId });
      return {};
    },
    async updateContactPreferences(req) {
      const contact = await useCases.updateContactPreferences.execute({
        contactId: req.contactId,
        optOut: req.optOut,
        optIn: req.optIn,
      });
      return { contact: toContact(contact) };
    },
    async unsubscribe(req) {
      const suppression = await useCases.unsubscribe.execute({
        email: req.email,
        reason: fromSuppressionReason(req.reason),
        comment: req.comment,
      });
      return { suppression: toSuppression(suppression) };
    },
    async listSuppressions(req) {
      const page = await useCases.listSuppressions.execute(req);
      return { suppressions: page.items.map(toSuppression), nextPageToken: page.nextPageToken };
    },
    async removeSuppression(req) {
      await useCases.removeSuppression.execute({ email: req.email });
      return {};
    },
    async sendEmail(req, context) {
      const notifications = await useCases.sendEmail.execute({
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
        category: req.category,
        caller: callerIdentityOf(context),
        traceId: activeTraceId(),
      });
      return { notifications: notifications.map(toNotification) };
    },
    async getNotification(req) {
      return {
        notification: toNotification(
          await useCases.getNotification.execute({ notificationId: req.notificationId }),
        ),
      };
    },
    async listNotifications(req) {
      const state = fromNotificationState(req.state);
      if (req.state !== N.NotificationState.NOTIFICATION_STATE_UNSPECIFIED && !state) {
        throw ValidationError.field('state', 'unknown state');
      }
      const page = await useCases.listNotifications.execute({
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
    async redriveNotifications(req) {
      return useCases.redriveNotifications.execute({
        requestId: req.requestId,
        pageSize: req.pageSize,
        pageToken: req.pageToken,
        filter: {
          campaignId: req.campaignId || undefined,
          templateId: req.templateId || undefined,
          failedAfter: req.failedAfter,
          failedBefore: req.failedBefore,
          errorContains: req.errorContains || undefined,
        },
      });
    },
    async startCampaign(req, context) {
      const campaign = await useCases.startCampaign.execute({
        templateId: req.templateId,
        recipients: req.contactIds
          ? { kind: 'contacts', contactIds: req.contactIds.ids }
          : req.emailDomain !== undefined
            ? { kind: 'domain', domain: req.emailDomain }
            : undefined,
        cc: req.cc,
        variables: req.variables ?? {},
        category: req.category,
        idempotencyKey: req.idempotencyKey,
        caller: callerIdentityOf(context),
        traceId: activeTraceId(),
      });
      return { campaign: toCampaign(campaign) };
    },
    async getCampaign(req) {
      const { campaign, progress } = await useCases.getCampaign.execute({
        campaignId: req.campaignId,
      });
      return { campaign: toCampaign(campaign, progress) };
    },
    async cancelCampaign(req) {
      const { campaign, progress } = await useCases.cancelCampaign.execute({
        campaignId: req.campaignId,
        reason: req.reason,
      });
      return { campaign: toCampaign(campaign, progress) };
    },
  };
}
