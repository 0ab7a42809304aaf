import type { Collection, Db } from 'mongodb';
import type { NotificationRecipients } from '../../app/ports/notification-recipients.port';

interface RecipientsDoc {
  _id: string;
  recipient: string;
  cc?: string[];
}

/** Reads recipient and cc of a notification from `notifications` (read-only, projection only). */
export class MongoNotificationRecipients implements NotificationRecipients {
  private readonly notifications: Collection<RecipientsDoc>;

  constructor(db: Db) {
    this.notifications = db.collection<RecipientsDoc>('notifications');
  }

  async recipientsOf(notificationId: string): Promise<string[] | undefined> {
    const doc = await this.notifications.findOne(
      { _id: notificationId },
      { projection: { recipient: 1, cc: 1 } },
    );
    return doc ? [doc.recipient, ...(doc.cc ?? [])].map((a) => a.toLowerCase()) : undefined;
  }
}
