import { notFound, templateVersionMismatch } from '../domain/errors';
import {
  type Template,
  type TemplateContent,
  templateVersion,
  validateTemplateContent,
  validateTemplateId,
} from '../domain/template';
import type { Runtime } from './ports/runtime.port';
import type { TemplateRepository } from './ports/template.repository.port';

export interface UpdateTemplateInput extends TemplateContent {
  templateId: string;
  /** > 0: the latest version must be this one, else ABORTED. */
  expectedVersion: number;
}

export interface UpdateTemplateDeps {
  templates: TemplateRepository;
  runtime: Runtime;
}

/** Stores a new version; earlier versions stay readable and renderable. */
export class UpdateTemplate {
  constructor(private readonly deps: UpdateTemplateDeps) {}

  async execute(input: UpdateTemplateInput): Promise<Template> {
    validateTemplateId(input.templateId);
    validateTemplateContent(input);
    for (;;) {
      const latest = await this.deps.templates.latest(input.templateId);
      if (!latest) throw notFound('template', input.templateId);
      if (input.expectedVersion > 0 && input.expectedVersion !== latest.version) {
        throw templateVersionMismatch(input.templateId, latest.version, input.expectedVersion);
      }
      const next = templateVersion(
        input.templateId,
        latest.version + 1,
        input,
        this.deps.runtime.now(),
      );
      if (await this.deps.templates.addVersion(next)) return next;
      // A concurrent update won: re-check the expectation against the new latest.
    }
  }
}
