import { DEFAULT_TEMPLATES } from './default-templates';
import type { NotificationDeps } from './deps';

/** Creates the event templates that do not exist yet (existing ones, possibly edited, stay). */
export async function seedTemplates(
  deps: Pick<NotificationDeps, 'templates' | 'clock'>,
): Promise<string[]> {
  const created: string[] = [];
  for (const { id, ...content } of DEFAULT_TEMPLATES) {
    if (await deps.templates.latest(id)) continue;
    if (await deps.templates.create({ id, version: 1, ...content, createdAt: deps.clock() }))
      created.push(id);
  }
  return created;
}
