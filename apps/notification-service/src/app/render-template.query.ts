import { normalizeEmail } from '../domain/email-address';
import type { RenderedContent, TemplateRenderer } from '../domain/template-engine';
import type { ContactRepository } from './ports/contact.repository.port';
import type { TemplateRepository } from './ports/template.repository.port';
import { recipientVariables } from './support/recipient-variables';
import { findTemplate } from './support/template-lookup';

export interface RenderTemplateDeps {
  templates: TemplateRepository;
  contacts: ContactRepository;
  renderer: TemplateRenderer;
}

export interface RenderTemplateInput {
  templateId: string;
  version: number;
  variables: Record<string, unknown>;
  recipient: string;
}

/** Renders a stored template without sending (preview). */
export class RenderTemplate {
  constructor(private readonly deps: RenderTemplateDeps) {}

  async execute(
    input: RenderTemplateInput,
  ): Promise<RenderedContent & { templateVersion: number }> {
    const template = await findTemplate(this.deps.templates, input.templateId, input.version);
    const variables = { ...input.variables };
    if (input.recipient) {
      const email = normalizeEmail(input.recipient, 'recipient');
      const [contact] = await this.deps.contacts.byEmails([email]);
      Object.assign(variables, recipientVariables(email, contact));
    }
    return { ...this.deps.renderer.render(template, variables), templateVersion: template.version };
  }
}
