import { templateVersion } from '../domain/template';
import { DEFAULT_TEMPLATES } from '../domain/default-templates';
import type { Runtime } from './ports/runtime.port';
import type { TemplateRepository } from './ports/template.repository.port';

export interface SeedTemplatesDeps {
  templates: TemplateRepository;
  runtime: Runtime;
}

/** Creates the event templates that do not exist yet (existing ones, possibly edited, stay). */
export class SeedTemplates {
  constructor(private readonly deps: SeedTemplatesDeps) {}

  async execute(): Promise<string[]> {
    const created: string[] = [];
    for (const { id, ...content } of DEFAULT_TEMPLATES) {
      if (await this.deps.templates.latest(id)) continue;
      const template = templateVersion(id, 1, content, this.deps.runtime.now());
      if (await this.deps.templates.create(template)) created.push(id);
    }
    return created;
  }
}
