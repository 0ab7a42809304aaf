import {
  type FieldViolation,
  idViolation,
  replayable,
  requestHash as hashOf,
  timeRangeViolation,
  validIdempotencyKey,
  ValidationError,
} from '@trellis/platform/errors';
import { CAMPAIGN_ID, TEMPLATE_ID } from '../domain/ids';
import { redrive } from '../domain/notification';
import { decodePageToken, pageSize, toPage } from '../domain/pagination';
import type { NotificationRepository, RedriveRecord } from './ports/notification.repository.port';
import type { Runtime } from './ports/runtime.port';

export interface RedriveNotificationsDeps {
  notifications: NotificationRepository;
  runtime: Runtime;
}

export interface RedriveNotificationsInput {
  requestId: string;
  pageSize: number;
  pageToken: string;
  filter: {
    campaignId?: string;
    templateId?: string;
    failedAfter?: Date;
    failedBefore?: Date;
    errorContains?: string;
  };
}

export interface RedriveNotificationsResult {
  notificationIds: string[];
  nextPageToken: string;
}

const MAX_ERROR_FILTER = 200;

/**
 * Re-queues one page of FAILED notifications (oldest failure first) for a new delivery
 * (domain `redrive`: a fresh retry budget, the same Message-ID). Idempotent by request id: the
 * id is stored in the same transaction as the re-queue, and a repeated request replays the stored
 * answer. A notification another request already re-queued is no longer FAILED: never twice.
 * The page token carries the sweep's upper time bound (its first call's time, or failed_before),
 * so mails that fail again during a sweep are left for the next sweep.
 */
export class RedriveNotifications {
  constructor(private readonly deps: RedriveNotificationsDeps) {}

  async execute(input: RedriveNotificationsInput): Promise<RedriveNotificationsResult> {
    const { deps } = this;
    const requestId = validIdempotencyKey('request_id', input.requestId, true);
    const limit = pageSize(input.pageSize);
    const filter = { ...input.filter, errorContains: input.filter.errorContains || undefined };
    const violations = [
      idViolation('campaign_id', filter.campaignId ?? '', CAMPAIGN_ID, true),
      idViolation('template_id', filter.templateId ?? '', TEMPLATE_ID, true),
      timeRangeViolation(
        { field: 'failed_after', value: filter.failedAfter },
        { field: 'failed_before', value: filter.failedBefore },
      ),
      (filter.errorContains?.length ?? 0) > MAX_ERROR_FILTER
        ? { field: 'error_contains', description: `must be at most ${MAX_ERROR_FILTER} characters` }
        : undefined,
    ].filter((v): v is FieldViolation => v !== undefined);
    if (violations.length > 0) throw new ValidationError(violations);
    const requestHash = hashOf({ limit, pageToken: input.pageToken, filter });

    const replayed = await this.replayOf(requestId, requestHash);
    if (replayed) return replayed;

    const fingerprint = JSON.stringify(['redrive', filter]);
    const key = decodePageToken(input.pageToken, fingerprint);
    const now = deps.runtime.now();
    const bound =
      key && typeof key[2] === 'number'
        ? new Date(key[2])
        : filter.failedBefore && filter.failedBefore < now
          ? filter.failedBefore
          : now;
    const cursor =
      key && typeof key[0] === 'number' && typeof key[1] === 'string'
        ? { failedAt: new Date(key[0]), id: key[1] }
        : undefined;
    const rows = await deps.notifications.listRedrivable(
      { ...filter, failedBefore: bound },
      cursor,
      limit + 1,
    );
    const page = toPage(
      rows,
      limit,
      (n) => [n.updatedAt.getTime(), n.id, bound.getTime()],
      fingerprint,
    );
    try {
      const record = await deps.notifications.redrive(
        page.items.map((n) => n.id),
        (n) => redrive(n, now),
        { requestId, requestHash, nextPageToken: page.nextPageToken, createdAt: now },
      );
      return answer(record);
    } catch (err) {
      // A concurrent call with the same request id stored its answer first.
      const stored = await this.replayOf(requestId, requestHash);
      if (stored) return stored;
      throw err;
    }
  }

  private async replayOf(
    requestId: string,
    requestHash: string,
  ): Promise<RedriveNotificationsResult | undefined> {
    const found = await this.deps.notifications.findRedriveRequest(requestId);
    return found ? answer(replayable(found, requestHash, 'NOTIFICATION', requestId)) : undefined;
  }
}

function answer(record: RedriveRecord): RedriveNotificationsResult {
  return { notificationIds: record.notificationIds, nextPageToken: record.nextPageToken };
}
