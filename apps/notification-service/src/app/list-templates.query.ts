import { decodePageToken, type Page, pageSize, toPage } from '../domain/pagination';
import type { Template } from '../domain/template';
import type { NotificationDeps } from './deps';

export async function listTemplates(
  deps: Pick<NotificationDeps, 'templates'>,
  input: { pageSize: number; pageToken: string },
): Promise<Page<Template>> {
  const limit = pageSize(input.pageSize);
  const after = decodePageToken(input.pageToken, 'templates');
  const rows = await deps.templates.list(after ? String(after[0]) : undefined, limit + 1);
  return toPage(rows, limit, (t) => [t.id], 'templates');
}
