import type { Template } from '../domain/template';
import type { TemplateRepository } from './ports/template.repository.port';
import { findTemplate } from './support/template-lookup';

export interface GetTemplateDeps {
  templates: TemplateRepository;
}

/** The latest version, or the one asked for (0 = latest). */
export class GetTemplate {
  constructor(private readonly deps: GetTemplateDeps) {}

  execute(input: { templateId: string; version: number }): Promise<Template> {
    return findTemplate(this.deps.templates, input.templateId, input.version);
  }
}
