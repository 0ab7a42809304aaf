/**
 * How an address left a list: the one-click POST, the confirmation page, a mailto reply, or the
 * directory (UpdateContactPreferences).
 */
export type UnsubscribeSource = 'one-click' | 'confirm-page' | 'mailto' | 'directory';

/** An address opted out of one list or category (newsletters, product news), not of all mail. */
export interface ListSuppression {
  email: string;
  list: string;
  source: UnsubscribeSource;
  createdAt: Date;
}
