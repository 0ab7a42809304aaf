import { requireFields } from '@trellis/platform/errors';
import { notFound } from '../domain/errors';
import { NOTIFICATION_ID } from '../domain/ids';
import type { Notification } from '../domain/notification';
import type { NotificationRepository } from './ports/notification.repository.port';

export interface GetNotificationDeps {
  notifications: NotificationRepository;
}

export class GetNotification {
  constructor(private readonly deps: GetNotificationDeps) {}

  async execute(input: { notificationId: string }): Promise<Notification> {
    requireFields({ notification_id: [input.notificationId, NOTIFICATION_ID] });
    const notification = await this.deps.notifications.findById(input.notificationId);
    if (!notification) throw notFound('notification', input.notificationId);
    return notification;
  }
}
