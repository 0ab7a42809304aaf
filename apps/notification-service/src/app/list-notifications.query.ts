import { ValidationError } from '@trellis/platform/errors';
import type { Notification } from '../domain/notification';
import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { NotificationDeps } from './deps';
import type { NotificationFilter } from './notification.repository.port';

/** Newest first; the token carries (created_at, id) of the last row and the filter's fingerprint. */
export async function listNotifications(
  deps: Pick<NotificationDeps, 'notifications'>,
  input: { pageSize: number; pageToken: string; filter: NotificationFilter },
): Promise<Page<Notification>> {
  const limit = pageSize(input.pageSize);
  const filter = {
    ...input.filter,
    recipient: input.filter.recipient?.trim().toLowerCase() || undefined,
  };
  if (filter.createdAfter && filter.createdBefore && filter.createdAfter >= filter.createdBefore) {
    throw ValidationError.field('created_before', 'must be after created_after');
  }
  const fingerprint = JSON.stringify(['notifications', filter]);
  const after = decodePageToken(input.pageToken, fingerprint);
  const cursor =
    after && typeof after[0] === 'number' && typeof after[1] === 'string'
      ? { createdAt: new Date(after[0]), id: after[1] }
      : undefined;
  const rows = await deps.notifications.list(filter, cursor, limit + 1);
  return toPage(rows, limit, (n) => [n.createdAt.getTime(), n.id], fingerprint);
}
