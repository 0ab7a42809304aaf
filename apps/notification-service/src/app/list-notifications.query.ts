import {
  type FieldViolation,
  idViolation,
  timeRangeViolation,
  ValidationError,
} from '@trellis/platform/errors';
import { isValidEmail } from '../domain/email-address';
import { CAMPAIGN_ID } from '../domain/ids';
import type { Notification } from '../domain/notification';
import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type {
  NotificationFilter,
  NotificationRepository,
} from './ports/notification.repository.port';

export interface ListNotificationsDeps {
  notifications: NotificationRepository;
}

export interface ListNotificationsInput {
  pageSize: number;
  pageToken: string;
  filter: NotificationFilter;
}

/** Newest first; the token carries (created_at, id) of the last row and the filter's fingerprint. */
export class ListNotifications {
  constructor(private readonly deps: ListNotificationsDeps) {}

  async execute(input: ListNotificationsInput): Promise<Page<Notification>> {
    const limit = pageSize(input.pageSize);
    const filter = {
      ...input.filter,
      recipient: input.filter.recipient?.trim().toLowerCase() || undefined,
    };
    // Filters no notification can match are refused, naming the field, not answered with nothing.
    const violations = [
      filter.recipient && !isValidEmail(filter.recipient)
        ? { field: 'recipient', description: 'is not a valid email address' }
        : undefined,
      idViolation('campaign_id', filter.campaignId ?? '', CAMPAIGN_ID, true),
      timeRangeViolation(
        { field: 'created_after', value: filter.createdAfter },
        { field: 'created_before', value: filter.createdBefore },
      ),
    ].filter((v): v is FieldViolation => v !== undefined);
    if (violations.length > 0) throw new ValidationError(violations);
    const fingerprint = JSON.stringify(['notifications', filter]);
    const after = decodePageToken(input.pageToken, fingerprint);
    const cursor =
      after && typeof after[0] === 'number' && typeof after[1] === 'string'
        ? { createdAt: new Date(after[0]), id: after[1] }
        : undefined;
    const rows = await this.deps.notifications.list(filter, cursor, limit + 1);
    return toPage(rows, limit, (n) => [n.createdAt.getTime(), n.id], fingerprint);
  }
}
