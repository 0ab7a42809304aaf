import type { Notification, NotificationState, Transition } from '../../domain/notification';

export interface NotificationFilter {
  state?: NotificationState;
  recipient?: string;
  campaignId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

/** Which FAILED notifications a redrive takes (`failedBefore` always set: the sweep's bound). */
export interface RedriveFilter {
  campaignId?: string;
  templateId?: string;
  failedAfter?: Date;
  failedBefore: Date;
  /** Case-insensitive substring of the last error. */
  errorContains?: string;
}

/** The stored answer to a RedriveNotifications request id. */
export interface RedriveRecord {
  requestId: string;
  requestHash: string;
  notificationIds: string[];
  nextPageToken: string;
  createdAt: Date;
}

export interface CampaignCounts {
  queued: number;
  sent: number;
  failed: number;
  suppressed: number;
}

/** The stored answer to a SendEmail idempotency key. */
export interface SendRequestRecord {
  key: string;
  requestHash: string;
  notificationIds: string[];
  createdAt: Date;
}

/** What else commits with the new notifications (at most one). */
export type CreateOptions =
  /** The SendEmail idempotency record: a key stored before fails the whole create. */
  | { sendRequest: SendRequestRecord }
  /** The consumed event (inbox): an event created from before creates nothing (`created: false`). */
  | { inboxEvent: { id: string; type: string } }
  | Record<string, never>;

export interface NotificationRepository {
  /**
   * Inserts the new notifications with their events (outbox) in one transaction; notifications
   * whose dedupe key exists already are skipped. Returns what was written, in order.
   */
  create(
    transitions: Transition[],
    options?: CreateOptions,
  ): Promise<{ notifications: Notification[]; created: boolean }>;
  findById(id: string): Promise<Notification | undefined>;
  findByIds(ids: string[]): Promise<Notification[]>;
  /** Newest first (created_at, id descending), after the cursor. */
  list(
    filter: NotificationFilter,
    after: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Notification[]>;
  campaignCounts(campaignId: string): Promise<CampaignCounts>;
  findSendRequest(key: string): Promise<SendRequestRecord | undefined>;
  /**
   * QUEUED with attempts = attempt - 1 (or SENDING for `attempt` whose claim expired) → SENDING with
   * attempts = attempt, atomically. Undefined if another delivery has it or it is past that attempt.
   */
  claimForSend(
    id: string,
    attempt: number,
    now: Date,
    claimMs: number,
  ): Promise<Notification | undefined>;
  /**
   * Loads, applies `change`, saves the notification with its events (outbox) in one transaction
   * (rerun on a write conflict); NotFound when missing.
   */
  update(id: string, change: (notification: Notification) => Transition): Promise<Notification>;
  /** Redrivable FAILED notifications, oldest failure first (updated_at, id ascending), after the cursor. */
  listRedrivable(
    filter: RedriveFilter,
    after: { failedAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Notification[]>;
  /**
   * In one transaction: applies `change` to those of `ids` still FAILED, saves them with their
   * events (outbox) and stores `request` with the ids that changed. A request id stored before
   * fails the whole transaction (nothing is written; the caller replays the stored answer).
   */
  redrive(
    ids: string[],
    change: (notification: Notification) => Transition,
    request: Omit<RedriveRecord, 'notificationIds'>,
  ): Promise<RedriveRecord>;
  findRedriveRequest(requestId: string): Promise<RedriveRecord | undefined>;
}
