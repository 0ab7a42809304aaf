import type { Suppression } from '../../domain/suppression';

export interface SuppressionRepository {
  /** Inserts unless present; returns the stored suppression (the existing one if present). */
  insertIfAbsent(suppression: Suppression): Promise<{ suppression: Suppression; created: boolean }>;
  list(afterEmail: string | undefined, limit: number): Promise<Suppression[]>;
  remove(email: string): Promise<boolean>;
  /** The suppressed addresses among `emails`. */
  suppressed(emails: string[]): Promise<Set<string>>;
}
