import type { ListSuppression } from '../../domain/list-suppression';

/** Per-list / per-category opt-outs (the minimal part of the suppression store #22 needs). */
export interface ListSuppressionStore {
  /** Records the opt-out unless present; `created` false when it already was. */
  suppressForList(entry: ListSuppression): Promise<{ created: boolean }>;
  /** Whether `email` opted out of `list`. */
  isSuppressedForList(email: string, list: string): Promise<boolean>;
}
