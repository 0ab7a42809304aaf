import { NotFoundError } from '@trellis/platform/errors';
import { type Template, validateTemplateId } from '../domain/template';
import type { NotificationDeps } from './deps';

/** The latest version, or the one asked for (0 = latest). */
export async function getTemplate(
  deps: Pick<NotificationDeps, 'templates'>,
  templateId: string,
  version: number,
  field = 'template_id',
): Promise<Template> {
  validateTemplateId(templateId, field);
  const template =
    version > 0
      ? await deps.templates.version(templateId, version)
      : await deps.templates.latest(templateId);
  if (!template)
    throw new NotFoundError(
      'template',
      version > 0 ? `${templateId} version ${version}` : templateId,
    );
  return template;
}
