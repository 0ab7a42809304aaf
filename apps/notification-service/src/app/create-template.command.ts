import { templateAlreadyExists } from '../domain/errors';
import {
  type Template,
  type TemplateContent,
  templateVersion,
  validateTemplateContent,
  validateTemplateId,
} from '../domain/template';
import type { Runtime } from './ports/runtime.port';
import type { TemplateRepository } from './ports/template.repository.port';

export interface CreateTemplateInput extends TemplateContent {
  templateId: string;
}

export interface CreateTemplateDeps {
  templates: TemplateRepository;
  runtime: Runtime;
}

/** Creates version 1 of a template; the id is generated when empty. */
export class CreateTemplate {
  constructor(private readonly deps: CreateTemplateDeps) {}

  async execute(input: CreateTemplateInput): Promise<Template> {
    const id = input.templateId || `tpl-${this.deps.runtime.newId().slice(0, 8)}`;
    validateTemplateId(id);
    validateTemplateContent(input);
    const template = templateVersion(id, 1, input, this.deps.runtime.now());
    if (!(await this.deps.templates.create(template))) throw templateAlreadyExists(id);
    return template;
  }
}
