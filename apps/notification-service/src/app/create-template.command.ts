import { AlreadyExistsError } from '@trellis/platform/errors';
import {
  type Template,
  type TemplateContent,
  validateTemplateContent,
  validateTemplateId,
} from '../domain/template';
import type { NotificationDeps } from './deps';

export interface CreateTemplateInput extends TemplateContent {
  templateId: string;
}

/** Creates version 1 of a template; the id is generated when empty. */
export async function createTemplate(
  deps: Pick<NotificationDeps, 'templates' | 'clock' | 'newId'>,
  input: CreateTemplateInput,
): Promise<Template> {
  const id = input.templateId || `tpl-${deps.newId().slice(0, 8)}`;
  validateTemplateId(id);
  validateTemplateContent(input);
  const template: Template = {
    id,
    version: 1,
    displayName: input.displayName.trim(),
    description: input.description,
    subject: input.subject,
    textBody: input.textBody,
    htmlBody: input.htmlBody,
    createdAt: deps.clock(),
  };
  if (!(await deps.templates.create(template))) {
    throw new AlreadyExistsError('TEMPLATE.ALREADY_EXISTS', `template ${id} already exists`, {
      template_id: id,
    });
  }
  return template;
}
