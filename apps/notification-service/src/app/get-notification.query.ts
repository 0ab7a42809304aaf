import { NotFoundError } from '@trellis/platform/errors';
import type { Notification } from '../domain/notification';
import type { NotificationDeps } from './deps';

export async function getNotification(
  deps: Pick<NotificationDeps, 'notifications'>,
  id: string,
): Promise<Notification> {
  const notification = id ? await deps.notifications.get(id) : undefined;
  if (!notification) throw new NotFoundError('notification', id || '(empty id)');
  return notification;
}
