import type { Notification, NotificationState } from '../domain/notification';
import type { Tx } from './unit-of-work.port';

export interface NotificationFilter {
  state?: NotificationState;
  recipient?: string;
  campaignId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
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

export interface NotificationRepository {
  /** Inserts; notifications whose dedupe key exists already are skipped (returned in `skipped`). */
  insertMany(
    tx: Tx,
    notifications: Notification[],
    options?: { fresh?: boolean },
  ): Promise<{ skipped: Set<string> }>;
  get(id: string, tx?: Tx): Promise<Notification | undefined>;
  getMany(ids: string[]): Promise<Notification[]>;
  /** Newest first (created_at, id descending), after the cursor. */
  list(
    filter: NotificationFilter,
    after: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<Notification[]>;
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
  /** Applies `changes` if the notification is still in `expected` state at `attempts`. */
  transition(
    tx: Tx,
    id: string,
    expected: { state: NotificationState; attempts: number },
    changes: Partial<Notification>,
  ): Promise<boolean>;
  /** `transition` for many at once (one round trip); one flag per item: did its guard match. */
  transitionMany(
    tx: Tx,
    items: Array<{
      id: string;
      expected: { state: NotificationState; attempts: number };
      changes: Partial<Notification>;
    }>,
  ): Promise<boolean[]>;
  campaignCounts(campaignId: string): Promise<CampaignCounts>;
  findSendRequest(key: string, tx?: Tx): Promise<SendRequestRecord | undefined>;
  saveSendRequest(tx: Tx, record: SendRequestRecord): Promise<void>;
}
