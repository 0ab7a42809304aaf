import type { ListSuppression } from '../../domain/list-suppression';

/**
 * Per-category opt-outs (newsletters, product news), keyed by address and category: the one-click
 * unsubscribe and the directory's preferences write them, queueing and the pre-send check read them.
 */
export interface ListSuppressionStore {
  /** Records the opt-out unless present; `created` false when it already was. */
  suppressForList(entry: ListSuppression): Promise<{ created: boolean }>;
  /** Opts the address back in; false when it was not opted out. */
  removeForList(email: string, list: string): Promise<boolean>;
  /** Whether `email` opted out of `list`. */
  isSuppressedForList(email: string, list: string): Promise<boolean>;
  /** The addresses among `emails` opted out of `list`. */
  suppressedForList(emails: string[], list: string): Promise<Set<string>>;
  /** The categories each of `emails` opted out of, sorted (addresses with none are absent). */
  listsOf(emails: string[]): Promise<Map<string, string[]>>;
}
