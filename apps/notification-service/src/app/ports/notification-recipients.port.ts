/** Who a notification's mail went to: a bounce or complaint may only name one of them. */
export interface NotificationRecipients {
  /** The recipient and cc addresses (lower-case), or undefined when there is no such notification. */
  recipientsOf(notificationId: string): Promise<string[] | undefined>;
}
