import { notFound } from '../../domain/errors';
import { type Template, validateTemplateId } from '../../domain/template';
import type { TemplateRepository } from '../ports/template.repository.port';

/** The latest version, or the one asked for (0 = latest); NotFound names what was asked. */
export async function findTemplate(
  templates: Pick<TemplateRepository, 'latest' | 'version'>,
  templateId: string,
  version: number,
  field = 'template_id',
): Promise<Template> {
  validateTemplateId(templateId, field);
  const template =
    version > 0 ? await templates.version(templateId, version) : await templates.latest(templateId);
  if (!template)
    throw notFound('template', version > 0 ? `${templateId} version ${version}` : templateId);
  return template;
}
