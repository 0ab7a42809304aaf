import type { RenderedContent } from '../domain/template-engine';
import { normalizeEmail } from '../domain/email-address';
import type { NotificationDeps } from './deps';
import { getTemplate } from './get-template.query';
import { recipientVariables } from './recipient-variables';

/** Renders a stored template without sending (preview). */
export async function renderTemplatePreview(
  deps: Pick<NotificationDeps, 'templates' | 'contacts' | 'renderer'>,
  input: {
    templateId: string;
    version: number;
    variables: Record<string, unknown>;
    recipient: string;
  },
): Promise<RenderedContent & { templateVersion: number }> {
  const template = await getTemplate(deps, input.templateId, input.version);
  const variables = { ...input.variables };
  if (input.recipient) {
    const email = normalizeEmail(input.recipient, 'recipient');
    const [contact] = await deps.contacts.byEmails([email]);
    Object.assign(variables, recipientVariables(email, contact));
  }
  return { ...deps.renderer.render(template, variables), templateVersion: template.version };
}
