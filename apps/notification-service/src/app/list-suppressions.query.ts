import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { Suppression } from '../domain/suppression';
import type { NotificationDeps } from './deps';

export async function listSuppressions(
  deps: Pick<NotificationDeps, 'suppressions'>,
  input: { pageSize: number; pageToken: string },
): Promise<Page<Suppression>> {
  const limit = pageSize(input.pageSize);
  const after = decodePageToken(input.pageToken, 'suppressions');
  const rows = await deps.suppressions.list(after ? String(after[0]) : undefined, limit + 1);
  return toPage(rows, limit, (s) => [s.email], 'suppressions');
}
