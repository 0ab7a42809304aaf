import { NotFoundError, requireFields } from '@trellis/platform/errors';
import { NOTIFICATION_ID } from '../domain/ids';
import type { Notification } from '../domain/notification';
import type { NotificationDeps } from './deps';

export async function getNotification(
  deps: Pick<NotificationDeps, 'notifications'>,
  id: string,
): Promise<Notification> {
  requireFields({ notification_id: [id, NOTIFICATION_ID] });
  const notification = await deps.notifications.get(id);
  if (!notification) throw new NotFoundError('notification', id);
  return notification;
}
